#!/usr/bin/env bash
# Lints the .proto contracts with buf and generates their TypeScript (protobuf-es) into src/gen.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
buf=$(cd .. && npx tsx deploy/sandbox/src/cli.ts path buf)
"$buf" lint
"$buf" generate
