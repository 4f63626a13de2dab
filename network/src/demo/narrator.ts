import { duration, redact } from './narration';

export interface Output {
  write(text: string): unknown;
}

const STYLES = {
  bold: ['\x1b[1m', '\x1b[22m'],
  green: ['\x1b[32m', '\x1b[39m'],
  red: ['\x1b[31m', '\x1b[39m'],
} as const;

/**
 * Tells the story: a heading per step, sentences under it, a ✓ for each claim that was checked.
 * Every line passes through `redact` first, so a secret the demo handles (enrollment secret,
 * passphrase, link code) never reaches the terminal, even inside an error message.
 */
export class Narrator {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly out: Output,
    private readonly color = false,
  ) {}

  /** Never print this value. */
  secret(value: string): void {
    this.secrets.add(value);
  }

  title(text: string): void {
    this.write(`${this.style('bold', text)}\n`);
  }

  /** A line of the preamble: "  label  text". */
  fact(label: string, text: string): void {
    this.write(`  ${label.padEnd(9)}${text}\n`);
  }

  step(n: number, total: number, title: string): void {
    this.write(`\n${this.style('bold', `[${n}/${total}] ${title}`)}\n`);
  }

  say(text: string): void {
    this.write(`      ${text}\n`);
  }

  /** An indented line under a sentence (a list item, a log line). */
  item(text: string): void {
    this.write(`        ${text}\n`);
  }

  /** A claim the demo checked against the network. */
  ok(text: string): void {
    this.write(`    ${this.style('green', '✓')} ${text}\n`);
  }

  took(ms: number): void {
    this.write(`      (${duration(ms)})\n`);
  }

  failure(text: string): void {
    this.write(`\n${this.style('red', 'FAILED:')} ${text}\n`);
  }

  blank(): void {
    this.write('\n');
  }

  private style(name: keyof typeof STYLES, text: string): string {
    return this.color ? `${STYLES[name][0]}${text}${STYLES[name][1]}` : text;
  }

  private write(text: string): void {
    this.out.write(redact(text, this.secrets));
  }
}
