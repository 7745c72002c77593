// The JS SDK v3 side of ssod's interop tests (tests/interop/clients.py runs it).
// Usage: node sts.js [default|sso|process] [calls]
// Makes `calls` STS GetCallerIdentity calls with one STSClient and prints one JSON line
// {"Account", "Arn"} per call. "default" is the SDK's own chain (what an application gets: the
// container provider when AWS_CONTAINER_CREDENTIALS_FULL_URI is set, the profile otherwise);
// "sso" and "process" use fromSSO / fromProcess for AWS_PROFILE. Endpoints, region and the
// profile come from the environment; on failure it prints the error and exits 1.
"use strict";

const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { fromProcess, fromSSO } = require("@aws-sdk/credential-providers");

function credentials(kind) {
  const profile = process.env.AWS_PROFILE;
  switch (kind) {
    case "default":
      return undefined;
    case "sso":
      return fromSSO({ profile });
    case "process":
      return fromProcess({ profile });
    default:
      throw new Error(`unknown provider ${kind}`);
  }
}

async function main() {
  const [kind = "default", calls = "1"] = process.argv.slice(2);
  const sts = new STSClient({ credentials: credentials(kind) });
  for (let i = 0; i < Number(calls); i++) {
    const reply = await sts.send(new GetCallerIdentityCommand({}));
    console.log(JSON.stringify({ Account: reply.Account, Arn: reply.Arn }));
  }
}

main().catch((err) => {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
});
