#!/usr/bin/env bash
# Deletes the local kind cluster and everything in it (stores, NATS data, the tokens).
set -euo pipefail
kind delete cluster --name urumi
