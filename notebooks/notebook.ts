/**
 * What a notebook here is: a TypeScript module whose cells append Markdown (prose and arquero
 * tables) to a report, in order, so `bun notebooks/<name>.ts` reads top to bottom like a notebook
 * and prints it, and a test can run the same cells on a smaller world. No kernel, no hidden state
 * between runs: the same options give the same report.
 */
import type { ColumnTable } from "arquero";

/** A Markdown report built cell by cell. */
export class Report {
  private readonly parts: string[] = [];

  /** A heading for the next cell (level 2; the report's title is level 1). */
  heading(text: string, level = 2): this {
    this.parts.push(`${"#".repeat(level)} ${text}`);
    return this;
  }

  /** A paragraph of prose. */
  text(paragraph: string): this {
    this.parts.push(paragraph);
    return this;
  }

  /**
   * A table, with `digits` fractional digits for its numbers (default 4). Columns keep the
   * table's order; numbers align right.
   */
  table(table: ColumnTable, digits = 4): this {
    this.parts.push(table.toMarkdown({ maxdigits: digits }).trimEnd());
    return this;
  }

  toString(): string {
    return `${this.parts.join("\n\n")}\n`;
  }
}
