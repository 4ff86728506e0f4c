#!/usr/bin/env python3
"""Checks on deploy/ that schema validators cannot make: what each file must hold (non-root,
probes, limits, hardening, the Mattermost settings Switchboard needs), and that every
SWITCHBOARD_* variable and every config.toml / route file a deploy target ships is one
Switchboard accepts, by running `switchboard check` on them.

Each target's files are laid out as the target ships them, then checked where the service
would run: the image's final stage (its WORKDIR and COPY lines, through the .dockerignore),
the systemd install steps (the unit's and the manual's, replayed into a scratch directory),
and the Kubernetes volumes (ConfigMaps, `items`, projected volumes and file modes). So a route
whose exec program a target does not ship (or ships without the executable bit) is caught.
Each of these has a negative control: the same target with the scripts left out must fail.
The image's profile-guided build must cook its dependencies with bench/pgo.sh's own flags and
target directory, or its cached layer would never be used.

Usage: check.py <repo root> <switchboard binary> [<rendered kustomize output>]
Prints one line per problem and exits 1 if there is any.
"""

import base64
import copy
import fnmatch
import os
import posixpath
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(sys.argv[1]).resolve()
BINARY = sys.argv[2]
RENDERED = Path(sys.argv[3]) if len(sys.argv) > 3 else None
DEPLOY = ROOT / "deploy"
problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def require(condition, where, message):
    if not condition:
        problem(where, message)


def run_check(workdir, env, config=None, routes_dir=None):
    """`switchboard check` as a deployed service runs it: in `workdir`, with only `env` as
    SWITCHBOARD_* configuration. Returns its output when it fails, None when it passes."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    clean.pop("RUST_LOG", None)
    clean.update(env)
    if routes_dir is not None:
        clean["SWITCHBOARD_ROUTES__DIR"] = str(routes_dir)
    args = [BINARY] + (["--config", str(config)] if config else []) + ["check"]
    run = subprocess.run(args, cwd=workdir, env=clean, capture_output=True, text=True)
    return None if run.returncode == 0 else run.stdout + run.stderr


def switchboard_check(where, config, routes_dir, env):
    """Runs `switchboard check` in a scratch directory; a failure is a problem."""
    with tempfile.TemporaryDirectory() as cwd:
        failed = run_check(cwd, env, config, routes_dir)
    if failed is not None:
        problem(where, "switchboard check failed:\n" + failed)


def require_check(where, failed):
    """A `run_check` result that must pass."""
    if failed is not None:
        problem(where, "switchboard check failed:\n" + failed)


def require_caught(where, failed):
    """A negative control: `run_check` on a target without the exec scripts must fail, naming
    the program; otherwise the check above could not catch a missing script."""
    require(failed is not None and "exec.program" in failed, where,
            "negative control: with routes/scripts left out, switchboard check should fail on "
            "`exec.program`, but " + ("passed" if failed is None else "said:\n" + failed))


def knows_signing():
    """Whether this build has the `[signing]` section; without it, SWITCHBOARD_SIGNING__KEYS
    is reported as skipped instead of failing."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    clean["SWITCHBOARD_SIGNING__KEYS"] = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    clean["SWITCHBOARD_ROUTES__DIR"] = str(ROOT / "routes")
    with tempfile.TemporaryDirectory() as cwd:
        run = subprocess.run([BINARY, "check"], cwd=cwd, env=clean, capture_output=True, text=True)
    return "found `signing`" not in run.stderr


SIGNING = knows_signing()
if not SIGNING:
    print("note: this build has no [signing] section yet; SWITCHBOARD_SIGNING__KEYS not checked")


def valid_env(env):
    """Secret values replaced by well-formed ones: names are what is checked, and the
    placeholders are deliberately invalid so a forgotten one stops the server."""
    out = {}
    for key, value in env.items():
        if key == "SWITCHBOARD_SIGNING__KEYS" and not SIGNING:
            continue
        if key == "SWITCHBOARD_SIGNING__KEYS":
            value = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        elif key == "SWITCHBOARD_MATTERMOST__TOKEN":
            value = secrets.token_hex(13)
        out[key] = str(value)
    return out


# --- Dockerfile ---------------------------------------------------------------------------
def check_dockerfile():
    where = "deploy/Dockerfile"
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    instructions = parser.structure
    froms = [i for i in instructions if i["instruction"] == "FROM"]
    require(len(froms) >= 3, where, "expected a multi-stage build (chef, builder, runtime)")
    runs = [i["value"] for i in instructions if i["instruction"] == "RUN"]
    cook = next((n for n, i in enumerate(instructions)
                 if i["instruction"] == "RUN" and "cargo chef cook" in i["value"]), None)
    copy_all = [n for n, i in enumerate(instructions)
                if i["instruction"] == "COPY" and i["value"].split()[0] == "." ]
    require(cook is not None, where, "dependencies are not built with `cargo chef cook`")
    require(any("cargo chef prepare" in r for r in runs), where, "no `cargo chef prepare` stage")
    if cook is not None:
        require(any(n > cook for n in copy_all), where,
                "the sources must be copied after `cargo chef cook` so dependencies stay cached")
    # The final stage: everything after the last FROM.
    last_from = max(n for n, i in enumerate(instructions) if i["instruction"] == "FROM")
    final = instructions[last_from:]
    final_text = " ".join(i["value"] for i in final)
    require("slim" in froms[-1]["value"] or "distroless" in froms[-1]["value"], where,
            "the runtime image should be slim")
    require("ca-certificates" in final_text, where, "the runtime stage lacks CA certificates")
    users = [i["value"].strip() for i in final if i["instruction"] == "USER"]
    require(users and users[-1].split(":")[0] not in ("root", "0"), where,
            "the runtime stage must switch to a non-root USER")
    require(any(i["instruction"] == "HEALTHCHECK" and "healthcheck" in i["value"] for i in final),
            where, "no HEALTHCHECK using `switchboard healthcheck`")
    copies = [i["value"] for i in final if i["instruction"] == "COPY"]
    require(any(c.split()[0] == "config.toml" for c in copies), where, "config.toml is not copied")
    require(any(c.split()[0].rstrip("/") == "routes" for c in copies), where, "routes/ is not copied")
    # Every path copied from the build context exists and is not excluded by the ignore file.
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for i in instructions:
        if i["instruction"] not in ("COPY", "ADD") or "--from=" in i["value"]:
            continue
        for source in i["value"].split()[:-1]:
            if source.startswith("--"):
                continue
            if source != ".":
                require((ROOT / source).exists(), where, f"COPY source {source} does not exist")
                require(source.rstrip("/").split("/")[0] in allowed, where,
                        f"COPY source {source} is excluded by Dockerfile.dockerignore")
    # Paths Cargo.toml names must be in the build context or cargo refuses the manifest.
    manifest = (ROOT / "Cargo.toml").read_text()
    for line in manifest.splitlines():
        if line.strip().startswith("path ="):
            top = line.split("=", 1)[1].strip().strip('"').split("/")[0]
            require(top in allowed, where, f"Cargo.toml names {top}/ but the image build excludes it")
    check_pgo_cook(where, instructions)
    # Memory a peak of connections took goes back to the system when they close (src/main.rs).
    require(parser.envs.get("MIMALLOC_PURGE_DELAY") == "0", where,
            "ENV MIMALLOC_PURGE_DELAY=0 expected in the runtime stage")
    entry = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    require(entry and "switchboard" in entry[-1], where, "ENTRYPOINT is not the switchboard binary")
    # The image's own files and configuration are what Switchboard accepts, checked in the
    # image's WORKDIR as `serve` runs there (config.toml, routes and their scripts as copied).
    env = {k: v for k, v in parser.envs.items() if k.startswith("SWITCHBOARD_")}
    patterns = [line.strip() for line in ignore_lines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = image_tree(final, patterns, Path(tmp))
        require_check(where + " (the image's WORKDIR, files as COPY ships them, ENV)",
                      run_check(workdir, env))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = image_tree(final, patterns + ["routes/scripts"], Path(tmp))
        require_caught(where + " (routes/scripts in .dockerignore)", run_check(workdir, env))


def check_pgo_cook(where, instructions):
    """The profile-guided build's dependencies are cooked with bench/pgo.sh's own flags and
    target directory, under the builder's WORKDIR: otherwise the cached layer is never used
    and every image build compiles them again."""
    pgo = (ROOT / "bench" / "pgo.sh").read_text()
    require('OUT=$PWD/target/pgo' in pgo and '"-Cprofile-generate=$OUT/data-sb" "$OUT/gen"' in pgo,
            "bench/pgo.sh", "the instrumented build's flags or target directory moved: "
            "update check_pgo_cook and deploy/Dockerfile's cook step")
    workdir = None
    for i in instructions:
        if i["instruction"] == "WORKDIR":
            workdir = i["value"].strip()
        if i["instruction"] == "RUN" and "bench/pgo.sh --switchboard" in i["value"]:
            break
    else:
        require(False, where, "the builder does not run `bench/pgo.sh --switchboard`")
        return
    out = f"{workdir}/target/pgo"
    cook = [i["value"] for i in instructions
            if i["instruction"] == "RUN" and "cargo chef cook" in i["value"]]
    flags = re.compile(rf"RUSTFLAGS=-Cprofile-generate={re.escape(out)}/data-sb(\s|;|$)")
    target = re.compile(rf"CARGO_TARGET_DIR={re.escape(out)}/gen(\s|;|$)")
    require(any(flags.search(c) and target.search(c) for c in cook), where,
            f"the PGO cook step must use RUSTFLAGS=-Cprofile-generate={out}/data-sb and "
            f"CARGO_TARGET_DIR={out}/gen (bench/pgo.sh's, under the builder's WORKDIR {workdir})")


def ignore_lines():
    return [line for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
            if not line.strip().startswith("#")]


def dockerignore(patterns):
    """Whether a context path is excluded: the last pattern matching it or a parent wins."""
    def excluded(rel):
        parts = rel.split("/")
        out = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pat = (pattern[1:] if negate else pattern).strip("/")
            if any(fnmatch.fnmatch("/".join(parts[:n]), pat) for n in range(1, len(parts) + 1)):
                out = not negate
        return out
    return excluded


def image_tree(final, patterns, root):
    """Replays the final stage's WORKDIR and COPY (from the build context) into `root`;
    returns the WORKDIR there. COPY keeps file modes, as Docker does."""
    excluded = dockerignore(patterns)
    workdir = "/"
    for i in final:
        if i["instruction"] == "WORKDIR":
            workdir = posixpath.join(workdir, i["value"].strip())
        if i["instruction"] != "COPY" or "--from=" in i["value"]:
            continue
        words = [w for w in shlex.split(i["value"]) if not w.startswith("--")]
        *sources, dest = words
        dest_abs = posixpath.join(workdir, dest)
        target = root / dest_abs.lstrip("/")
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                for f in sorted(path.rglob("*")):
                    rel = f.relative_to(ROOT).as_posix()
                    if f.is_file() and not excluded(rel):
                        out = target / f.relative_to(path)
                        out.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(f, out)
            elif path.is_file() and not excluded(source):
                out = target / path.name if dest.endswith("/") else target
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)
    (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root / workdir.lstrip("/")


# --- docker-compose.yml -------------------------------------------------------------------
def check_compose():
    where = "deploy/docker-compose.yml"
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    for name in ("postgres", "mattermost", "switchboard"):
        require(name in services, where, f"no `{name}` service")
    mm = services.get("mattermost", {})
    require(str(mm.get("image", "")).startswith("mattermost/mattermost-"), where,
            "Mattermost should be the official image")
    env = {k: str(v) for k, v in (mm.get("environment") or {}).items()}
    for key in ("MM_SERVICESETTINGS_ENABLECOMMANDS", "MM_SERVICESETTINGS_ENABLEOUTGOINGWEBHOOKS",
                "MM_SERVICESETTINGS_ENABLEPOSTUSERNAMEOVERRIDE",
                "MM_SERVICESETTINGS_ENABLEPOSTICONOVERRIDE"):
        require(env.get(key) == "true", where, f"mattermost: {key} must be \"true\"")
    allowed = env.get("MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS", "").split()
    require("switchboard" in allowed, where,
            "mattermost: AllowedUntrustedInternalConnections must name the switchboard service")
    require(env.get("MM_SERVICESETTINGS_SITEURL", "").startswith("http"), where,
            "mattermost: MM_SERVICESETTINGS_SITEURL must be set")
    sb = services.get("switchboard", {})
    sb_env = {k: str(v) for k, v in (sb.get("environment") or {}).items()}
    require("switchboard" in sb_env.get("SWITCHBOARD_SERVER__PUBLIC_URL", ""), where,
            "switchboard: public_url must be the service name Mattermost reaches")
    require(not any("TOKEN" in k or "KEYS" in k for k in sb_env), where,
            "switchboard: secrets belong in .env, not in the compose file")
    switchboard_check(where + " (switchboard environment + systemd env example)",
                      None, ROOT / "routes", valid_env({**sb_env, **env_file_vars()}))


def env_file_vars():
    out = {}
    for line in (DEPLOY / "systemd" / "switchboard.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


# --- systemd ------------------------------------------------------------------------------
def check_systemd():
    where = "deploy/systemd/switchboard.service"
    unit = (DEPLOY / "systemd" / "switchboard.service").read_text()
    settings = {}
    for line in unit.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    expect = {
        "NoNewPrivileges": "true", "ProtectSystem": "strict", "ProtectHome": "true",
        "PrivateTmp": "true", "KillSignal": "SIGTERM",
    }
    for key, value in expect.items():
        require(settings.get(key) == [value], where, f"{key}={value} expected")
    require(settings.get("User", ["root"])[0] not in ("root", ""), where, "a dedicated User= is needed")
    require(any("/etc/switchboard/switchboard.env" in v for v in settings.get("EnvironmentFile", [])),
            where, "secrets must come from an EnvironmentFile")
    require("MIMALLOC_PURGE_DELAY=0" in settings.get("Environment", []), where,
            "Environment=MIMALLOC_PURGE_DELAY=0 expected (see src/main.rs)")
    require(settings.get("ExecReload") == ["/bin/kill -HUP $MAINPID"], where,
            "ExecReload must send SIGHUP")
    require(settings.get("CapabilityBoundingSet") == [""], where, "capabilities must be dropped")
    sysusers = (DEPLOY / "systemd" / "switchboard.sysusers").read_text()
    require(f"u {settings.get('User', [''])[0]} " in sysusers, where,
            "switchboard.sysusers must create the unit's User")

    # The install steps (in the unit's header and in the manual's deploy page) ship what the
    # routes need: replayed into a scratch root, `switchboard check` runs as ExecStartPre would.
    unit_steps = unit.split("# Install (as root):", 1)[1].split("\n#\n", 1)[0]
    manual = (ROOT / "docs/src/operations/deploy.md").read_text()
    manual_steps = manual.split("## Single host (systemd)", 1)[1].split("```sh", 1)[1]
    manual_steps = manual_steps.split("```", 1)[0]
    workdir = settings.get("WorkingDirectory", ["/"])[0]
    exec_start = shlex.split(settings.get("ExecStart", [""])[0])
    config = exec_start[exec_start.index("--config") + 1] if "--config" in exec_start else None
    env = valid_env(env_file_vars())
    for name, steps in (("unit header", unit_steps), ("manual", manual_steps)):
        steps = list(install_commands(steps))
        require(steps, where, f"no install steps found in the {name}")
        for label, kept in (("", steps),
                            (" without routes/scripts",
                             [s for s in steps if not any("routes/scripts/" in w for w in s[1:-1])])):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                replay_install(kept, root)
                cwd = root / workdir.lstrip("/")
                cwd.mkdir(parents=True, exist_ok=True)
                failed = run_check(cwd, env, root / config.lstrip("/") if config else None)
            if label:
                require_caught(f"{where} ({name} install steps{label})", failed)
            else:
                require_check(f"{where} ({name} install steps, WorkingDirectory={workdir})", failed)


def install_commands(text):
    """The `install` commands in shell text (comment markers and `sudo` removed)."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        for command in line.split("&&"):
            words = shlex.split(command, comments=True)
            if words and words[0] == "sudo":
                words = words[1:]
            if words and words[0] == "install":
                yield words


def replay_install(commands, root):
    """Runs `install` commands with destinations under /etc/switchboard moved into `root`
    (other destinations — the binary, sysusers, the unit — are skipped; owners ignored)."""
    for words in commands:
        mode, directory, paths = 0o755, False, []
        args = iter(words[1:])
        for word in args:
            if word == "-m":
                mode = int(next(args), 8)
            elif word in ("-g", "-o"):
                next(args)
            elif word == "-d":
                directory = True
            elif not word.startswith("-"):
                paths.append(word)
        if directory:
            for path in paths:
                if path.startswith("/etc/switchboard"):
                    (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
            continue
        *sources, dest = paths
        if not dest.startswith("/etc/switchboard"):
            continue
        target = root / dest.lstrip("/")
        for source in sources:
            for path in sorted(ROOT.glob(source)) if any(c in source for c in "*?[") else [ROOT / source]:
                out = target / path.name if dest.endswith("/") or target.is_dir() else target
                shutil.copyfile(path, out)
                out.chmod(mode)


# --- Kubernetes ---------------------------------------------------------------------------
def load_kubernetes():
    kdir = DEPLOY / "kubernetes"
    kustomization = yaml.safe_load((kdir / "kustomization.yaml").read_text())
    resources = kustomization.get("resources", [])
    for name in resources:
        require((kdir / name).is_file(), "deploy/kubernetes/kustomization.yaml",
                f"resource {name} does not exist")
    for path in sorted(kdir.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            require(path.name in resources, "deploy/kubernetes/kustomization.yaml",
                    f"{path.name} is not listed in resources")
    if RENDERED is not None:
        return [d for d in yaml.safe_load_all(RENDERED.read_text()) if d]
    docs = []
    for name in resources:
        if (kdir / name).is_file():
            docs.extend(d for d in yaml.safe_load_all((kdir / name).read_text()) if d)
    return docs


def configmap_store_url(configmaps):
    """The `[store] url` of the config.toml a ConfigMap ships, or None (commented out, absent)."""
    import tomllib
    for cm in configmaps:
        text = (cm.get("data") or {}).get("config.toml")
        if text is None:
            continue
        try:
            config = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        url = (config.get("store") or {}).get("url")
        if url:
            return url
    return None


def check_lease_rbac(where, by_kind, pod):
    """Leader election ([coordination] mode "auto" in a pod) needs the pods' service account
    to get, create and update the Lease, and its token mounted."""
    account = pod.get("serviceAccountName")
    require(account is not None and any(a["metadata"]["name"] == account
                                        for a in by_kind.get("ServiceAccount", [])),
            where, "the Deployment must run as the ServiceAccount rbac.yaml declares")
    require(pod.get("automountServiceAccountToken") is True, where,
            "the pods need their service account token for the leader election Lease")
    granted = set()
    for binding in by_kind.get("RoleBinding", []):
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                   for s in binding.get("subjects", [])):
            continue
        for role in by_kind.get("Role", []):
            if role["metadata"]["name"] != binding["roleRef"]["name"]:
                continue
            for rule in role.get("rules", []):
                if "coordination.k8s.io" in rule.get("apiGroups", []) \
                        and "leases" in rule.get("resources", []):
                    granted.update(rule.get("verbs", []))
    for verb in ("get", "create", "update"):
        require(verb in granted, where, f"the service account may not {verb} leases "
                "(coordination.k8s.io), which leader election needs")


def check_kubernetes():
    where = "deploy/kubernetes"
    docs = load_kubernetes()
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    missing = [k for k in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget")
               if k not in by_kind]
    for kind in missing:
        problem(where, f"no {kind}")
    if missing:
        return
    deployment = by_kind["Deployment"][0]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    # Replicas share single-use records, exec limits and claims only through [store] url:
    # more than one replica is safe only with it set (finding: 2 replicas, store commented out).
    replicas = spec.get("replicas", 1)
    store_url = configmap_store_url(by_kind["ConfigMap"])
    require(replicas == 1 or store_url, where,
            f"the Deployment runs {replicas} replicas but the ConfigMap's config.toml sets no "
            "[store] url: each pod would keep its own single-use record")
    require(pod.get("securityContext", {}).get("runAsNonRoot") is True, where,
            "the pod must run as non-root")
    container = pod["containers"][0]
    sc = container.get("securityContext", {})
    require(sc.get("readOnlyRootFilesystem") is True, where, "the root filesystem must be read-only")
    require(sc.get("allowPrivilegeEscalation") is False, where, "privilege escalation must be off")
    require(sc.get("capabilities", {}).get("drop") == ["ALL"], where, "capabilities must be dropped")
    require(container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", where,
            "liveness must probe /healthz")
    require(container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", where,
            "readiness must probe /readyz")
    resources = container.get("resources", {})
    for section in ("requests", "limits"):
        for what in ("cpu", "memory"):
            require(what in resources.get(section, {}), where, f"resources.{section}.{what} missing")
    env_names = set()
    for source in container.get("envFrom", []):
        secret_name = source.get("secretRef", {}).get("name")
        for secret in by_kind["Secret"]:
            if secret["metadata"]["name"] == secret_name:
                env_names.update((secret.get("stringData") or {}).keys())
    for name in ("SWITCHBOARD_MATTERMOST__TOKEN", "SWITCHBOARD_SIGNING__KEYS"):
        require(name in env_names, where, f"the Secret given to the pods lacks {name}")
    pdb = by_kind["PodDisruptionBudget"][0]
    min_available = pdb["spec"].get("minAvailable")
    require(not (isinstance(min_available, int) and min_available >= replicas), where,
            f"the PodDisruptionBudget's minAvailable {min_available} with {replicas} replica(s) "
            "blocks every node drain")
    require(pdb["spec"]["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items(), where,
            "the PodDisruptionBudget does not select the Deployment's pods")
    service = by_kind["Service"][0]
    require(service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items(),
            where, "the Service does not select the Deployment's pods")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check_lease_rbac(where, by_kind, pod)

    # The mounted config and routes are what `switchboard check` accepts, with the Secret's
    # variable names set, laid out as the kubelet mounts them (keys, items, modes).
    failed = kubernetes_mounts_check(where, by_kind, pod, container, env_names, grace)
    require_check(where + " (ConfigMap config.toml + routes + Secret names)", failed)

    # Negative control: the shipped deploy route added to the routes ConfigMap must fail
    # without its script, and pass once the script is projected into scripts/ with mode 0755
    # (the way configmap.yaml documents).
    with_route = copy.deepcopy(by_kind)
    routes_map = routes_config_map(with_route, pod)
    if routes_map is None:
        problem(where, "no ConfigMap is mounted as the routes directory")
        return
    routes_map.setdefault("data", {})["deploy.toml"] = (ROOT / "routes" / "deploy.toml").read_text()
    require_caught(where + " (deploy.toml in the routes ConfigMap, no script)",
                   kubernetes_mounts_check(where, with_route, pod, container, env_names, grace))
    scripted_pod = copy.deepcopy(pod)
    with_route["ConfigMap"].append({
        "metadata": {"name": "switchboard-scripts"},
        "data": {"deploy.sh": (ROOT / "routes" / "scripts" / "deploy.sh").read_text()},
    })
    for volume in scripted_pod["volumes"]:
        if volume.get("configMap", {}).get("name") == routes_map["metadata"]["name"]:
            volume.pop("configMap")
            volume["projected"] = {"sources": [
                {"configMap": {"name": routes_map["metadata"]["name"]}},
                {"configMap": {"name": "switchboard-scripts", "items": [
                    {"key": "deploy.sh", "path": "scripts/deploy.sh", "mode": 0o755}]}},
            ]}
    require_check(where + " (the documented projected volume for scripts)",
                  kubernetes_mounts_check(where, with_route, scripted_pod,
                                          scripted_pod["containers"][0], env_names, grace))


def routes_config_map(by_kind, pod):
    """The ConfigMap mounted at the routes directory (the one holding *.toml files)."""
    for volume in pod.get("volumes", []):
        name = volume.get("configMap", {}).get("name")
        for m in by_kind["ConfigMap"]:
            if m["metadata"]["name"] == name and any(k.endswith(".toml") and k != "config.toml"
                                                     for k in m.get("data", {})):
                return m
    return None


def project(volume, maps, target):
    """Writes what the kubelet mounts for a configMap or projected volume into `target`:
    every key (or the listed `items`, at their `path`), with `mode` / `defaultMode` (0644)."""
    if "configMap" in volume:
        sources = [(volume["configMap"], volume["configMap"].get("defaultMode", 0o644))]
    elif "projected" in volume:
        default = volume["projected"].get("defaultMode", 0o644)
        sources = [(s["configMap"], default) for s in volume["projected"].get("sources", [])
                   if "configMap" in s]
    else:
        return []
    written = []
    for source, default in sources:
        data = maps.get(source["name"], {})
        items = source.get("items") or [{"key": k, "path": k} for k in data]
        for item in items:
            if item["key"] not in data:
                continue
            out = target / item["path"]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(data[item["key"]])
            out.chmod(item.get("mode", default))
            written.append(item["path"])
    return written


def kubernetes_mounts_check(where, by_kind, pod, container, env_names, grace):
    """`switchboard check` on the pod's mounted config and routes; None when it passes."""
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in by_kind["ConfigMap"]}
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    config_args = container.get("args", [])
    config_path = config_args[config_args.index("--config") + 1] if "--config" in config_args else None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config_file = None
        for volume in pod.get("volumes", []):
            if volume["name"] not in mounts:
                continue
            mount = mounts[volume["name"]]
            target = tmp / mount.strip("/")
            target.mkdir(parents=True, exist_ok=True)
            for path in project(volume, maps, target):
                if config_path and mount + "/" + path == config_path:
                    config_file = target / path
        if config_file is None:
            return f"--config {config_path} is not in a mounted ConfigMap"
        import tomllib
        parsed = tomllib.loads(config_file.read_text())
        routes_mount = parsed.get("routes", {}).get("dir")
        routes_dir = tmp / str(routes_mount).strip("/")
        require(routes_dir.is_dir(), where, f"[routes] dir {routes_mount} is not a mounted ConfigMap")
        shutdown = parsed.get("server", {}).get("shutdown_grace_secs", 20)
        require(shutdown < grace, where,
                "terminationGracePeriodSeconds must exceed [server] shutdown_grace_secs")
        listen = parsed.get("metrics", {}).get("listen", "")
        ports = {p["containerPort"] for p in container.get("ports", [])}
        if listen:
            require(int(listen.rsplit(":", 1)[1]) in ports, where, "the metrics port is not declared")
        return run_check(tmp, valid_env({n: "" for n in env_names}), config_file, routes_dir)


check_dockerfile()
check_compose()
check_systemd()
check_kubernetes()
for p in problems:
    print("problem:", p)
if problems:
    sys.exit(1)
print("deploy/check.py: all checks passed")
