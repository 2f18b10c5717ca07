#!/usr/bin/env bash
# Deletes the local k3d cluster and everything in it (stores, NATS data, the tokens).
set -euo pipefail
k3d cluster delete urumi
