/**
 * Administrative commands that a use case's lifecycle offers (retrain, promote, rollback), so the
 * API can trigger them without depending on the code that implements them. The part that owns
 * the action registers a handler; the API answers 404 for a use case or command nobody offers.
 */

/** A command's result: shown to the caller as JSON. */
export type CommandResult = Record<string, unknown>;

export type CommandHandler = (args: Record<string, unknown>) => Promise<CommandResult>;

export class CommandNotAvailableError extends Error {
  constructor(usecase: string, command: string) {
    super(`${command} is not available for use case "${usecase}" on this instance`);
    this.name = "CommandNotAvailableError";
  }
}

export class CommandRegistry {
  private readonly handlers = new Map<string, CommandHandler>();

  /** Registers the handler of `command` for `usecase`; returns the function that unregisters it. */
  register(usecase: string, command: string, handler: CommandHandler): () => void {
    const id = `${usecase}\u0000${command}`;
    this.handlers.set(id, handler);
    return () => {
      if (this.handlers.get(id) === handler) this.handlers.delete(id);
    };
  }

  has(usecase: string, command: string): boolean {
    return this.handlers.has(`${usecase}\u0000${command}`);
  }

  /** Runs a command; CommandNotAvailableError when nobody registered it. */
  async run(
    usecase: string,
    command: string,
    args: Record<string, unknown> = {},
  ): Promise<CommandResult> {
    const handler = this.handlers.get(`${usecase}\u0000${command}`);
    if (!handler) throw new CommandNotAvailableError(usecase, command);
    return handler(args);
  }
}

/** The process's commands (one platform per process). Tests may build their own. */
export const commands = new CommandRegistry();
