#!/usr/bin/env bash
# Validates everything in deploy/ with the tools that run without a Docker engine or a
# cluster. `.ci/run` calls it; it installs what it needs (Python packages from PyPI into a
# private virtualenv, Debian packages with apt when python3/venv are missing).
#
#   yamllint            every YAML file (deploy/.yamllint.yaml)
#   check-jsonschema    docker-compose.yml against the Compose specification schema
#   kubectl kustomize   renders deploy/kubernetes (when kubectl is installed; otherwise the
#                       listed resources are read directly)
#   kubernetes-validate the rendered manifests, strictly, against the Kubernetes 1.37 schemas
#                       it ships (no download)
#   systemd-analyze     `verify` on the unit (when systemd-analyze is installed)
#   deploy/check.py     what schemas cannot say: non-root, probes, limits, hardening, the
#                       Mattermost settings, and `switchboard check` on every embedded
#                       config.toml, route file and SWITCHBOARD_* variable name
#
# Not checked here (needs a Docker engine or a cluster): building the image and running it,
# the compose stack coming up, and the manifests being accepted by a live API server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=${DEPLOY_CHECK_VENV:-$TARGET/deploy-check-venv}
PIP_PACKAGES=(yamllint==1.38.0 check-jsonschema==0.39.0 kubernetes-validate==1.37.0 dockerfile-parse==2.0.1)

step() { echo "-- $*"; }

# Python and venv: present on our machines; installed from Debian's packages on a fresh one.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  step "installing python3 and python3-venv with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv >/dev/null
fi
if [ ! -x "$VENV/bin/kubernetes-validate" ] || ! "$VENV/bin/pip" freeze 2>/dev/null | grep -q '^dockerfile-parse==2.0.1$'; then
  step "installing ${PIP_PACKAGES[*]} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi

step "building the switchboard binary (for \`switchboard check\` on the deploy configs)"
cargo build --quiet --bin switchboard
BIN=$TARGET/debug/switchboard

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step "yamllint deploy/"
"$VENV/bin/yamllint" --strict -c deploy/.yamllint.yaml deploy/

step "docker-compose.yml against the Compose specification"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/docker-compose.yml

RENDERED=$WORK/kubernetes.yaml
if command -v kubectl >/dev/null 2>&1; then
  step "kubectl kustomize deploy/kubernetes"
  kubectl kustomize deploy/kubernetes >"$RENDERED"
else
  step "kubectl not installed: validating the kustomization's resources one by one"
  "$VENV/bin/python" - "$RENDERED" <<'EOF'
import sys, yaml, pathlib
k = pathlib.Path("deploy/kubernetes")
docs = []
for name in yaml.safe_load((k / "kustomization.yaml").read_text())["resources"]:
    docs += [d for d in yaml.safe_load_all((k / name).read_text()) if d]
pathlib.Path(sys.argv[1]).write_text(yaml.safe_dump_all(docs))
EOF
fi
step "kubernetes-validate --strict (Kubernetes 1.37 schemas)"
"$VENV/bin/kubernetes-validate" --strict --quiet "$RENDERED"

if command -v systemd-analyze >/dev/null 2>&1; then
  step "systemd-analyze verify deploy/systemd/switchboard.service"
  # verify needs the binary and the working directory to exist; point them at real paths.
  UNIT=$WORK/switchboard.service
  sed -e "s|/usr/local/bin/switchboard|$BIN|g" \
      -e "s|^WorkingDirectory=.*|WorkingDirectory=$WORK|" \
      deploy/systemd/switchboard.service >"$UNIT"
  # It exits 0 on unknown keys and bad values, so any output is a failure.
  OUT=$(systemd-analyze verify "$UNIT" 2>&1 || echo "systemd-analyze exited $?")
  if [ -n "$OUT" ]; then
    echo "$OUT"
    exit 1
  fi
else
  step "systemd-analyze not installed: unit checked by deploy/check.py only"
fi

step "deploy/check.py"
"$VENV/bin/python" deploy/check.py "$ROOT" "$BIN" "$RENDERED"
echo "deploy checks passed"
