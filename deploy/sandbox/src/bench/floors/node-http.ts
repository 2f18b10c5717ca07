import { createServer, IncomingMessage } from 'node:http';
import { CannedResponse, Endpoint, floorSettings } from './canned';

/** The floor under every other: node:http writing prepared bytes, no framework, no routing table. */
function endpointOf(req: IncomingMessage): Endpoint {
  if (req.method === 'POST') return 'create';
  return req.url?.startsWith('/api/v1/stores/') ? 'getOne' : 'list';
}

function prepared(response: CannedResponse): { status: number; headers: string[]; body: Buffer } {
  return { status: response.status, headers: response.headers.flat(), body: Buffer.from(response.body) };
}

const { port, responses } = floorSettings();
const answers = {
  list: prepared(responses.list),
  getOne: prepared(responses.getOne),
  create: prepared(responses.create),
};

createServer((req, res) => {
  const answer = answers[endpointOf(req)];
  // A request's body is read to its end, as any server must before it answers on a kept-alive connection.
  req.resume().once('end', () => {
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
}).listen(port, '127.0.0.1');
