// Sends N events with Splunk's own Node.js logging library (splunk-logging).
// Usage: node send_splunk_logging.js URL TOKEN N
const SplunkLogger = require("splunk-logging").Logger;

const [url, token, n] = process.argv.slice(2);
const logger = new SplunkLogger({ token: token, url: url, maxBatchCount: 1 });
let failed = false;
logger.error = function (err, context) {
  failed = true;
  console.error("splunk-logging error:", err && err.message, JSON.stringify(context));
};

let pending = Number(n);
for (let i = 0; i < Number(n); i++) {
  logger.send(
    {
      message: { id: "node-" + i, CommandLine: "msiexec.exe /i http://x/" + i + ".msi" },
      metadata: { source: "node-test", sourcetype: "cimhunt:test", index: "main", host: "node-host" },
      severity: "info",
    },
    function (err, resp, body) {
      if (err || !resp || resp.statusCode !== 200) {
        failed = true;
        console.error("send failed:", err, resp && resp.statusCode, body);
      }
      pending -= 1;
      if (pending === 0) {
        process.exit(failed ? 1 : 0);
      }
    }
  );
}
