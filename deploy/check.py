#!/usr/bin/env python3
"""Checks on deploy/ that schema validators cannot make: what the issue promises about each
file (non-root, probes, limits, hardening, the Mattermost settings Switchboard needs), and that
every SWITCHBOARD_* variable and every embedded config.toml / route file is one Switchboard
accepts, by running `switchboard check` on them.

Usage: check.py <repo root> <switchboard binary> [<rendered kustomize output>]
Prints one line per problem and exits 1 if there is any.
"""

import base64
import os
import secrets
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


def switchboard_check(where, config, routes_dir, env):
    """Runs `switchboard check` with only `env` as SWITCHBOARD_* configuration."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    clean.pop("RUST_LOG", None)
    clean.update(env)
    if routes_dir is not None:
        clean["SWITCHBOARD_ROUTES__DIR"] = str(routes_dir)
    args = [BINARY] + (["--config", str(config)] if config else []) + ["check"]
    with tempfile.TemporaryDirectory() as cwd:
        run = subprocess.run(args, cwd=cwd, env=clean, capture_output=True, text=True)
    if run.returncode != 0:
        problem(where, "switchboard check failed:\n" + run.stdout + run.stderr)


def knows_signing():
    """Whether this build has the `[signing]` section (the callbacks issue adds it); before
    it lands, SWITCHBOARD_SIGNING__KEYS is reported as skipped instead of failing."""
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
    entry = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    require(entry and "switchboard" in entry[-1], where, "ENTRYPOINT is not the switchboard binary")
    # The image's own configuration is one Switchboard accepts.
    env = {k: v for k, v in parser.envs.items() if k.startswith("SWITCHBOARD_")}
    switchboard_check(where + " (config.toml + routes/ + ENV)", ROOT / "config.toml",
                      ROOT / "routes", env)


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
    require(settings.get("ExecReload") == ["/bin/kill -HUP $MAINPID"], where,
            "ExecReload must send SIGHUP")
    require(settings.get("CapabilityBoundingSet") == [""], where, "capabilities must be dropped")
    sysusers = (DEPLOY / "systemd" / "switchboard.sysusers").read_text()
    require(f"u {settings.get('User', [''])[0]} " in sysusers, where,
            "switchboard.sysusers must create the unit's User")


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
    require(spec.get("replicas") == 2, where, "the Deployment should run 2 replicas")
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
    require(pdb["spec"]["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items(), where,
            "the PodDisruptionBudget does not select the Deployment's pods")
    service = by_kind["Service"][0]
    require(service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items(),
            where, "the Service does not select the Deployment's pods")
    grace = pod.get("terminationGracePeriodSeconds", 30)

    # The mounted config and routes are what `switchboard check` accepts, with the Secret's
    # variable names set.
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in by_kind["ConfigMap"]}
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v.get("configMap", {}).get("name") for v in pod.get("volumes", [])}
    config_args = container.get("args", [])
    config_path = config_args[config_args.index("--config") + 1] if "--config" in config_args else None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config_file = routes_dir = None
        for volume, map_name in volumes.items():
            if map_name is None or volume not in mounts:
                continue
            target = tmp / mounts[volume].strip("/")
            target.mkdir(parents=True, exist_ok=True)
            for name, text in maps.get(map_name, {}).items():
                (target / name).write_text(text)
                if config_path and mounts[volume] + "/" + name == config_path:
                    config_file = target / name
        require(config_file is not None, where, f"--config {config_path} is not in a mounted ConfigMap")
        if config_file is None:
            return
        config = config_file.read_text()
        import tomllib
        parsed = tomllib.loads(config)
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
        switchboard_check(where + " (ConfigMap config.toml + routes + Secret names)", config_file,
                          routes_dir, valid_env({n: "" for n in env_names}))


check_dockerfile()
check_compose()
check_systemd()
check_kubernetes()
for p in problems:
    print("problem:", p)
if problems:
    sys.exit(1)
print("deploy/check.py: all checks passed")
