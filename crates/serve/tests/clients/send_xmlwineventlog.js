// Sends Windows events as a Universal Forwarder would, with Splunk's own Node.js logging
// library (splunk-logging): one XmlWinEventLog event per line of FILE, the raw XML as the
// HEC event (an event formatter that returns the message unchanged), sourcetype
// XmlWinEventLog, source XmlWinEventLog:<Channel>, host <Computer>, time the event's own.
// Usage: node send_xmlwineventlog.js URL TOKEN FILE
const fs = require("fs");
const SplunkLogger = require("splunk-logging").Logger;

const [url, token, file] = process.argv.slice(2);
const logger = new SplunkLogger({ token: token, url: url, maxBatchCount: 1 });
logger.eventFormatter = function (message) {
  return message;
};
let failed = false;
logger.error = function (err, context) {
  failed = true;
  console.error("splunk-logging error:", err && err.message, JSON.stringify(context));
};

const between = (text, open, close) => {
  const start = text.indexOf(open) + open.length;
  return text.substring(start, text.indexOf(close, start));
};
const events = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
let pending = events.length;
for (const xml of events) {
  logger.send(
    {
      message: xml,
      metadata: {
        time: Date.parse(between(xml, "SystemTime='", "'")),
        host: between(xml, "<Computer>", "</Computer>"),
        source: "XmlWinEventLog:" + between(xml, "<Channel>", "</Channel>"),
        sourcetype: "XmlWinEventLog",
        index: "main",
      },
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
