// A webhook endpoint that verifies every call with the official standardwebhooks
// package over the exact bytes it received.
//
//   node verifier.mjs <secret> [<secret>...]   (env FAIL_FIRST=N: answer 500 to the
//                                               first N verified calls of each webhook-id)
//
// Prints {"port":P} once listening, then one JSON line per request:
// {"verified":[true,false,...] (one per secret), "id","timestamp","signature",
//  "body" (as received, base64), "status"}. A call that no secret verifies gets 400.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const secrets = process.argv.slice(2);
const failFirst = Number(process.env.FAIL_FIRST || 0);
const verifiers = secrets.map((s) => new Webhook(s));
const seen = new Map();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = {
      'webhook-id': req.headers['webhook-id'] || '',
      'webhook-timestamp': req.headers['webhook-timestamp'] || '',
      'webhook-signature': req.headers['webhook-signature'] || '',
    };
    const verified = verifiers.map((v) => {
      try {
        v.verify(body.toString('utf8'), headers);
        return true;
      } catch {
        return false;
      }
    });
    let status = verified.some(Boolean) ? 200 : 400;
    if (status === 200) {
      const n = (seen.get(headers['webhook-id']) || 0) + 1;
      seen.set(headers['webhook-id'], n);
      if (n <= failFirst) status = 500;
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ verified }));
    process.stdout.write(JSON.stringify({
      verified,
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      signature: headers['webhook-signature'],
      body: body.toString('base64'),
      status,
    }) + '\n');
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
