#!/bin/sh
# run-attempt, from wherever /opt/bench-pipeline is: its own image, or mounted into another.
here=$(dirname "$(readlink -f "$0")")/..
PATH="$here/bin:$here/node_modules/.bin:$PATH" exec "$here/bin/node" "$here/dist/images/run-attempt.js" "$@"
