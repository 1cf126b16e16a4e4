/**
 * The parent's Node flags a forked child should inherit: loaders (tsx), conditions and the like do,
 * but code to evaluate, an inspector port already taken, or the test runner do not.
 */
export function childExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i++;
      continue;
    }
    if (
      /^--(eval|print|inspect|debug|test|watch)(-|=|$)/.test(arg) ||
      arg === '-i' ||
      arg === '--interactive'
    )
      continue;
    out.push(arg);
  }
  return out;
}
