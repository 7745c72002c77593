"""The IAM Identity Center emulator: sso-oidc, the SSO portal, STS and the console federation
endpoint on one local HTTP server.

Wire-exact enough that real AWS clients (botocore, the AWS CLI, the JS SDK) work against it via
``AWS_ENDPOINT_URL_SSO_OIDC``/``_SSO``/``_STS`` (and ssod's console sign-in via ``_SIGNIN``).
Used by ssod's tests, ``make demo``, benchmarks and users' own tests (``ssod emulator``, the
``ssod_emulator`` pytest fixture).
"""

from ssod.emulator.config import EmulatorConfig
from ssod.emulator.data import Account, Directory, default_directory, load_directory
from ssod.emulator.server import Emulator, RunningEmulator, endpoint_env
from ssod.emulator.testing.remote import EmulatorRemote

__all__ = [
    "Account",
    "Directory",
    "Emulator",
    "EmulatorConfig",
    "EmulatorRemote",
    "RunningEmulator",
    "default_directory",
    "endpoint_env",
    "load_directory",
]
