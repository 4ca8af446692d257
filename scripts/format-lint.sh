#!/usr/bin/env bash
# Checks that Sources and Tests are formatted as `.swift-format` says, with the toolchain's
# `swift format` (swift-format ships with Swift 6).
#
#   scripts/format-lint.sh          # lint: lists every difference, exits 1 if there is one
#   scripts/format-lint.sh --fix    # rewrites the files in place, then lints
#
# The configuration follows the code as it is written: 150 columns (long log and error messages and
# JSON test data are the norm past 120; below 150 they fit), 4-space indentation, and several short
# statements on one line where a table reads better that way (DoNotUseSemicolons off).
set -euo pipefail
cd "$(dirname "$0")/.."

paths=(Sources Tests)
if [[ "${1:-}" == "--fix" ]]; then
    swift format format --in-place --recursive --parallel "${paths[@]}"
fi
output=$(swift format lint --recursive --parallel "${paths[@]}" 2>&1 || true)
if [[ -n "$output" ]]; then
    echo "$output"
    echo "format-lint: $(echo "$output" | grep -c 'warning:' || true) findings; run scripts/format-lint.sh --fix" >&2
    exit 1
fi
echo "format-lint: Sources and Tests follow .swift-format"
