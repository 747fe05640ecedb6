// Sends the conformance cases with the AWS SDK for JavaScript v3, one per input line.
// Input: one JSON object a line: {"service", "operation", "params", "endpoint"}.
// Output: one JSON object a line: {"status": <HTTP status>, "code": <error name or null>}.
import readline from "node:readline";
import * as events from "@aws-sdk/client-personalize-events";
import * as runtime from "@aws-sdk/client-personalize-runtime";

const SDKS = {
  "personalize-events": [events, events.PersonalizeEventsClient],
  "personalize-runtime": [runtime, runtime.PersonalizeRuntimeClient],
};
const TIMESTAMPS = new Set(["sentAt", "timestamp"]);
const clients = new Map();

// The SDK takes a Date for a timestamp member; the table writes epoch seconds.
function withDates(value, key) {
  if (Array.isArray(value)) return value.map((item) => withDates(item));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDates(v, k)]));
  }
  if (TIMESTAMPS.has(key) && typeof value === "number") return new Date(value * 1000);
  return value;
}

function clientFor(service, endpoint, signed) {
  const key = `${service} ${endpoint} ${signed}`;
  if (!clients.has(key)) {
    const [, Client] = SDKS[service];
    const config = {
      endpoint,
      region: "us-east-1",
      maxAttempts: 1,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    };
    if (!signed) config.signer = { sign: async (request) => request };
    clients.set(key, new Client(config));
  }
  return clients.get(key);
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { service, operation, params, endpoint, signed = true } = JSON.parse(line);
  const [sdk] = SDKS[service];
  const command = new sdk[`${operation}Command`](withDates(params));
  let result;
  try {
    const answer = await clientFor(service, endpoint, signed).send(command);
    result = { status: answer.$metadata.httpStatusCode, code: null };
  } catch (error) {
    result = { status: error.$metadata?.httpStatusCode ?? null, code: error.name };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
