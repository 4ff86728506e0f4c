#!/bin/sh
# A simulated deploy for the `deploy` route: prints progress like a real one would.
# Arguments: <environment> <version>. The request arrives as SWITCHBOARD_* variables.
set -eu
env="$1"
version="$2"
step_delay="${DEPLOY_STEP_DELAY:-0.2}"
echo "Deploying $version to $env for ${SWITCHBOARD_USER_NAME:-someone}"
for step in "fetching $version" "building" "running migrations" "switching traffic"; do
    echo "==> $step"
    sleep "$step_delay"
done
if [ "$version" = "v0.0.0" ]; then
    echo "error: v0.0.0 is not a release" >&2
    exit 1
fi
echo "Deployed $version to $env"
