"""``make demo``: ssod's main job, end to end, on the built-in emulator.

Starts the IAM Identity Center emulator and an ssod daemon in a throwaway HOME pointed at it,
logs in with the device flow (the emulator approves it), shows a real boto3 process getting
credentials through ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and calling
``sts get-caller-identity``, then keeps running and prints the lines to use from another shell
until Ctrl-C, which ends it without a traceback (the emulator and the daemon run in sessions
of their own, so only this script gets the terminal's signal and stops them in order).
``--once`` stops after the boto3 call (used by the tests).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
[profile demo]
sso_session = demo
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = us-east-1

[sso-session demo]
sso_start_url = https://d-demo.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""

BOTO3_CALL = """\
import boto3
identity = boto3.client("sts", region_name="us-east-1").get_caller_identity()
print(f"  boto3 says: account {identity['Account']}, {identity['Arn']}")
"""


def ssod(*args: str) -> list[str]:
    return [sys.executable, "-m", "ssod.client.cli", *args]


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def wait_for(path: Path, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {what} did not start")
        time.sleep(0.05)


#: The emulator's services, as AWS_ENDPOINT_URL_<NAME>.
SERVICES = ("SSO_OIDC", "SSO", "STS", "SIGNIN")


def instructions(home: Path, runtime: Path, env_lines: list[str], url: str) -> list[str]:
    """What to paste in another shell to use the running demo daemon, line by line.

    ``ssod`` commands there reach this daemon (same HOME and runtime directory) and see the
    same endpoints; the AWS CLI and SDKs call the emulator's STS (the credentials are the
    emulator's, which real AWS would refuse).
    """
    file_var = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
    lines = [
        f"export HOME={shlex.quote(str(home))}",
        f"export SSOD_RUNTIME_DIR={shlex.quote(str(runtime))}",
        *(f"export AWS_ENDPOINT_URL_{name}={url}" for name in SERVICES),
        *(line for line in env_lines if not line.startswith("#")),
        f'export AWS_CONTAINER_AUTHORIZATION_TOKEN="$(cat "${file_var}")"',
        f"{ssod_command()} status",
        # Older AWS CLIs (Debian's 2.9, v1) know no AWS_ENDPOINT_URL_STS: name it.
        'aws sts get-caller-identity --endpoint-url "$AWS_ENDPOINT_URL_STS"',
    ]
    return lines


def ssod_command() -> str:
    """``ssod`` as another shell finds it: this environment's, when it is not on PATH."""
    here = Path(sys.executable).parent / "ssod"
    if here.exists() and shutil.which("ssod") != str(here):
        return shlex.quote(str(here))
    return "ssod"


def print_instructions(lines: list[str]) -> None:
    say("ssod is serving. From another shell, paste:")
    print("\n".join("  " + line for line in lines))
    print("  # or any AWS SDK, Terraform, ... (aws: Debian's awscli or AWS CLI v2)")


def main() -> int:  # noqa: PLR0915 (a linear script)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="stop after the boto3 call")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ssod-demo-"))
    home = work / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSOD_"))}
    env.update({"HOME": str(home), "SSOD_RUNTIME_DIR": str(work / "run"), "SSOD_NOTIFY": "0"})
    children: list[subprocess.Popen[bytes]] = []
    try:
        say("Starting the IAM Identity Center emulator (sso-oidc, SSO portal, STS) on loopback")
        port_file = work / "emulator.port"
        children.append(
            subprocess.Popen(
                ssod("emulator", "--port", "0", "--port-file", str(port_file)),
                env=env,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches this script only; it stops them
            )
        )
        wait_for(port_file, "the emulator")
        url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        for name in SERVICES:
            env[f"AWS_ENDPOINT_URL_{name}"] = url
        print(f"  emulator at {url}; HOME={home}")
        print("  ~/.aws/config:\n" + "\n".join("    " + line for line in CONFIG.splitlines()))

        say("Starting the ssod daemon")
        log_path = work / "daemon.log"
        with log_path.open("wb") as log:
            children.append(
                subprocess.Popen(
                    ssod("daemon", "--ecs-port", "0"),
                    env=env,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )
        wait_for(work / "run" / "ipc", "the daemon")
        subprocess.run(ssod("status"), env=env, check=False)

        say("ssod login --profile demo --use-device-code  (the emulator approves it)")
        subprocess.run(ssod("login", "--profile", "demo", "--use-device-code"), env=env, check=True)

        say('eval "$(ssod env --profile demo)" and a brand-new boto3 process')
        lines = subprocess.run(
            ssod("env", "--profile", "demo"), env=env, check=True, capture_output=True, text=True
        ).stdout
        shown = [ln for ln in lines.splitlines() if "AUTHORIZATION_TOKEN=" not in ln]
        print("\n".join("  " + ln for ln in shown))
        client_env = dict(env)
        for line in lines.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                client_env[name] = shlex.split(value)[0]
        subprocess.run([sys.executable, "-c", BOTO3_CALL], env=client_env, check=True)

        say("ssod status")
        subprocess.run(ssod("status"), env=env, check=False)
        if args.once:
            return 0

        print_instructions(instructions(home, work / "run", shown, url))
        print("\nPress Ctrl-C to stop.", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping the daemon and the emulator.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
