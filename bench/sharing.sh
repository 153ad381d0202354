#!/usr/bin/env bash
# bench/sharing.sh: secret sharing next to plain forwarding, in the same run: 4 KiB and 1 MiB
# messages, to a plain recipient and to one whose share map has 3 destinations (3 share mails
# per message), end to end to an SMTP sink. The memory benchmark's set-up and table (msgs/s, MB/s
# of messages accepted, peak and settled RSS); see bench/memory.sh for its environment variables.
#
#   bench/sharing.sh
set -euo pipefail
BENCH_SCENARIOS=sharing exec "$(dirname "$0")/memory.sh" "$@"
