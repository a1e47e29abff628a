/**
 * `WorkerCalls`: calls into a worker thread that answer `done` or `failed`, each bounded by a
 * timeout. The checkpoint writer and the Kafka changelog's worker both talk to their threads this
 * way: one request, one reply, matched by id; a worker that dies fails what it holds, and the next
 * call starts a new one.
 */

/** What every message to the worker carries: the id its reply names. */
interface Identified {
  id: number;
}

/** A reply: `done`, or `failed` with whatever the worker says about it. */
export type WorkerReply = { type: "done"; id: number } | ({ type: "failed"; id: number } & object);

/** A message without its id, which `call` assigns. */
export type Unidentified<M> = M extends Identified ? Omit<M, "id"> : never;

export interface WorkerCallsOptions<Reply extends WorkerReply> {
  /** The worker's module. */
  url: URL;
  /** Longest a call may wait for its reply. */
  timeoutMs: number;
  /** The error for a call the worker answered `failed`. */
  failed: (what: string, reply: Extract<Reply, { type: "failed" }>) => Error;
  /** The error for a call that got no reply: timed out, worker died or was terminated. */
  lost: (what: string, reason: string) => Error;
  /** Called when the worker dies, after its calls failed (e.g. to initialise the next one). */
  onWorkerLost?: () => void;
  /** What the worker is, in the reasons `lost` gets (e.g. "the checkpoint writer"). */
  name: string;
}

interface Waiting {
  what: string;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class WorkerCalls<Message extends Identified, Reply extends WorkerReply> {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly o: WorkerCallsOptions<Reply>) {}

  /** True while a worker is running (calls were made since the last one stopped). */
  get started(): boolean {
    return this.worker !== null;
  }

  /**
   * Posts `message` (the worker starts on first use) and settles with its reply. Buffers in
   * `transfer` move to the worker instead of being copied: the caller must not use them again.
   */
  call(what: string, message: Unidentified<Message>, transfer: ArrayBuffer[] = []): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(this.o.lost(what, `no answer within ${this.o.timeoutMs} ms`));
      }, this.o.timeoutMs);
      this.waiting.set(id, { what, resolve, reject, timer });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Stops the worker; the calls it holds fail with `reason`. */
  terminate(reason: string): void {
    const worker = this.worker;
    this.worker = null;
    worker?.terminate();
    this.failAll(reason);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.o.url.href);
    // Pending calls keep the process up by their timers; an idle worker need not.
    worker.unref();
    worker.addEventListener("message", (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const entry = this.waiting.get(reply.id);
      if (!entry) return;
      this.waiting.delete(reply.id);
      clearTimeout(entry.timer);
      if (reply.type === "done") entry.resolve();
      else entry.reject(this.o.failed(entry.what, reply as Extract<Reply, { type: "failed" }>));
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(`${this.o.name} failed: ${event.message}`);
      this.o.onWorkerLost?.();
    });
    this.worker = worker;
    return worker;
  }

  private failAll(reason: string): void {
    for (const [id, entry] of this.waiting) {
      this.waiting.delete(id);
      clearTimeout(entry.timer);
      entry.reject(this.o.lost(entry.what, reason));
    }
  }
}
