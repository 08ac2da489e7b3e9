// A real gRPC service for tests (@grpc/grpc-js on h2c, 127.0.0.1 and an
// ephemeral port) and a client for it: unary, server streaming and
// bidirectional streaming calls, and errors sent as a gRPC status.

import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/** The one message type: a text and a number. */
export interface EchoMessage {
  text: string;
  count: number;
}

// The service as protobuf.js JSON, so no .proto file is needed (its typings want a comment on each method).
const DESCRIPTOR: Parameters<typeof fromJSON>[0] = {
  nested: {
    weirtest: {
      nested: {
        Message: { fields: { text: { type: 'string', id: 1 }, count: { type: 'int32', id: 2 } } },
        Echo: {
          methods: {
            Unary: { requestType: 'Message', responseType: 'Message', comment: '' },
            Count: { requestType: 'Message', responseType: 'Message', comment: '', responseStream: true },
            Chat: { requestType: 'Message', responseType: 'Message', comment: '', requestStream: true, responseStream: true },
          },
        },
      },
    },
  },
};

const definition = fromJSON(DESCRIPTOR, { defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { weirtest: { Echo: grpc.ServiceClientConstructor } };
const EchoService = loaded.weirtest.Echo;

/** How the client calls the service; the methods grpc-js makes from the definition. */
export interface EchoClient extends grpc.Client {
  Unary(request: EchoMessage, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, reply?: EchoMessage) => void): grpc.ClientUnaryCall;
  Count(request: EchoMessage, metadata?: grpc.Metadata): grpc.ClientReadableStream<EchoMessage>;
  Chat(metadata?: grpc.Metadata): grpc.ClientDuplexStream<EchoMessage, EchoMessage>;
}

export interface GrpcEchoServer {
  readonly port: number;
  /** "127.0.0.1:port". */
  readonly address: string;
  /** The metadata of every call it received, in order. */
  readonly calls: grpc.Metadata[];
  close(): Promise<void>;
}

/**
 * Unary answers "echo: <text>", or fails with INVALID_ARGUMENT for the text
 * "fail" (before any message: grpc-js sends it Trailers-Only) and with
 * FAILED_PRECONDITION and trailing metadata for "fail late" (after headers).
 * Count streams `count` messages; Chat answers each message as it comes and
 * ends when the client does.
 */
export async function startGrpcEcho(): Promise<GrpcEchoServer> {
  const calls: grpc.Metadata[] = [];
  const server = new grpc.Server();
  server.addService(EchoService.service, {
    Unary: (call: grpc.ServerUnaryCall<EchoMessage, EchoMessage>, callback: grpc.sendUnaryData<EchoMessage>) => {
      calls.push(call.metadata);
      const { text } = call.request;
      if (text === 'fail') {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'no "fail" here' });
        return;
      }
      if (text === 'fail late') {
        call.sendMetadata(new grpc.Metadata());
        const trailing = new grpc.Metadata();
        trailing.set('x-why', 'late');
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'failed after the headers', metadata: trailing });
        return;
      }
      const reply = new grpc.Metadata();
      reply.set('x-echo-trailer', 'done');
      callback(null, { text: `echo: ${text}`, count: text.length }, reply);
    },
    Count: (call: grpc.ServerWritableStream<EchoMessage, EchoMessage>) => {
      calls.push(call.metadata);
      for (let i = 1; i <= call.request.count; i++) call.write({ text: `${call.request.text} ${i}`, count: i });
      call.end();
    },
    Chat: (call: grpc.ServerDuplexStream<EchoMessage, EchoMessage>) => {
      calls.push(call.metadata);
      call.on('data', (message: EchoMessage) => call.write({ text: `re: ${message.text}`, count: message.count + 1 }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** A client of the echo service at "host:port", over h2c; `authority` is the :authority (Host) its calls carry. */
export function echoClient(address: string, authority?: string): EchoClient {
  const options = authority === undefined ? {} : { 'grpc.default_authority': authority };
  return new EchoService(address, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
}

/** A unary call as a promise: the reply and the trailing metadata, or the ServiceError with its code, details and trailing metadata. */
export function unary(client: EchoClient, text: string, metadata = new grpc.Metadata()): Promise<{ reply: EchoMessage; trailers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let outcome: { error: grpc.ServiceError | null; reply: EchoMessage | undefined } | undefined;
    const call = client.Unary({ text, count: 0 }, metadata, (error, reply) => (outcome = { error, reply }));
    // The status (with the trailers) comes after the callback has its answer.
    call.on('status', (status: grpc.StatusObject) => {
      if (outcome?.error) reject(outcome.error);
      else if (outcome?.reply) resolve({ reply: outcome.reply, trailers: status.metadata });
      else reject(new Error(`status ${status.code} without an answer: ${status.details}`));
    });
  });
}

export { grpc };
