/**
 * A minimal HTTP/1.1 keep-alive client: one connection, one request in flight, the request bytes encoded
 * once. The load generator shares the machine's cores with the gateway and Redis, so every microsecond it
 * spends is taken from what it measures; on this path fetch (undici) costs ~0.2 ms per request and
 * node:http ~0.1 ms more than this (the online bench prints the comparison). It understands exactly the
 * responses the gateway sends — a status line, headers, a Content-Length body — and fails loudly on
 * anything else rather than mis-measuring it.
 */
import net from 'node:net';

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

/** The bytes of one POST, built once and sent many times. */
export function encodePost(base: URL, path: string, body: string, headers: Readonly<Record<string, string>> = {}): Buffer {
  const payload = Buffer.from(body);
  const head = [`POST ${path} HTTP/1.1`, `Host: ${base.host}`, `Content-Length: ${payload.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class HttpConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: HttpResponse) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.#socket = socket;
    socket.setNoDelay(true);
    // Bounds every request: a gateway that stops answering fails the bench instead of hanging it. The
    // timer is the socket's inactivity timer, so an idle connection with nothing asked is left alone.
    socket.setTimeout(timeoutMs, () => {
      if (this.#pending !== undefined) socket.destroy(new Error(`no response within ${timeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed by the server')));
  }

  /** Opens a connection to `base` (http://host:port). `timeoutMs` bounds each request; default 10000. */
  static open(base: URL, timeoutMs = 10_000): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(base.port), base.hostname);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new HttpConnection(socket, timeoutMs));
      });
    });
  }

  /** Sends one encoded request (see encodePost) and resolves with the response. One at a time. */
  send(request: Buffer): Promise<HttpResponse> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#pending !== undefined) return Promise.reject(new Error('HttpConnection: one request at a time'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#failure ??= new Error('connection closed');
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const headerEnd = this.#buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.#buffer.toString('latin1', 0, headerEnd);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    if (!Number.isInteger(status) || length === undefined) {
      this.#socket.destroy(new Error(`unsupported response (need a status line and Content-Length): ${JSON.stringify(head.slice(0, 300))}`));
      return;
    }
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(length);
    if (this.#buffer.length < bodyEnd) return;
    const body = this.#buffer.subarray(bodyStart, bodyEnd);
    this.#buffer = this.#buffer.subarray(bodyEnd);
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) this.#socket.destroy(new Error('response without a request'));
    else pending.resolve({ status, body });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}
