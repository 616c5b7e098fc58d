/**
 * Shell completion scripts (bash, zsh, fish) generated from the commands' option tables, so a
 * new option is completed as soon as it is declared. Pure: takes the tables, returns the text.
 */
import type { OptionSpec } from './options.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionCommand {
  name: string;
  summary: string;
  options: readonly OptionSpec<string>[];
}

const visible = (c: CompletionCommand): OptionSpec<string>[] => c.options.filter((o) => !o.hidden);

/** A word safe inside single quotes for bash and zsh. */
const sq = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

function bash(commands: readonly CompletionCommand[]): string {
  const names = commands.map((c) => c.name).join(' ');
  const cases = commands.map((c) => {
    const opts = visible(c);
    const words = opts.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);
    const valueCases = opts
      .filter((o) => o.kind !== 'flag')
      .map((o) => {
        const pattern = [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])].join('|');
        const action =
          o.choices !== undefined
            ? `COMPREPLY=( $(compgen -W ${sq(o.choices.join(' '))} -- "$cur") )`
            : o.complete === 'dir'
              ? 'COMPREPLY=( $(compgen -d -- "$cur") )'
              : o.complete === 'file'
                ? 'COMPREPLY=( $(compgen -f -- "$cur") )'
                : ':';
        return `        ${pattern}) ${action}; return 0 ;;`;
      });
    return [
      `    ${c.name})`,
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
      `      opts=${sq(words.join(' '))} ;;`,
    ].join('\n');
  });
  return `# bash completion for airflash. Load it with:  source <(airflash completion bash)
_airflash() {
  local cur prev cmd opts
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${sq(`${names} help --help --version`)} -- "$cur") )
    return 0
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$cmd" in
    help)
      COMPREPLY=( $(compgen -W ${sq(names)} -- "$cur") )
      return 0 ;;
${cases.join('\n')}
    *) return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
  return 0
}
complete -F _airflash airflash
`;
}

/** Text inside an _arguments description: no brackets or colons. */
const zshText = (text: string): string =>
  text
    .replace(/[[\]:]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

function zshSpec(o: OptionSpec<string>): string[] {
  const repeat = o.repeatable ? '*' : '';
  const desc = `[${zshText(o.help)}]`;
  const action =
    o.kind === 'flag'
      ? ''
      : `:${zshText(o.arg ?? 'value')}:${
          o.choices !== undefined
            ? `(${o.choices.join(' ')})`
            : o.complete === 'dir'
              ? '_files -/'
              : o.complete === 'file'
                ? '_files'
                : ' '
        }`;
  const forms = [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])];
  return forms.map((f) => sq(`${repeat}${f}${desc}${action}`));
}

function zsh(commands: readonly CompletionCommand[]): string {
  const list = commands.map((c) => sq(`${c.name}:${zshText(c.summary)}`)).join(' ');
  const cases = commands.map((c) =>
    [
      `    ${c.name})`,
      `      _arguments -s \\`,
      ...visible(c)
        .flatMap(zshSpec)
        .map((s) => `        ${s} \\`),
      `        '*:file:_files' ;;`,
    ].join('\n'),
  );
  return `#compdef airflash
# zsh completion for airflash. Load it with:  source <(airflash completion zsh)
_airflash() {
  local -a commands
  commands=(${list})
  if (( CURRENT == 2 )); then
    _describe 'airflash command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
    help)
      _describe 'airflash command' commands ;;
${cases.join('\n')}
  esac
}
if (( $+functions[compdef] )); then compdef _airflash airflash; fi
`;
}

/** A fish single-quoted string. */
const fq = (text: string): string => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

function fish(commands: readonly CompletionCommand[]): string {
  const lines = [
    '# fish completion for airflash. Load it with:  airflash completion fish | source',
    'complete -c airflash -f',
  ];
  for (const c of commands)
    lines.push(`complete -c airflash -n __fish_use_subcommand -a ${c.name} -d ${fq(c.summary)}`);
  lines.push(
    `complete -c airflash -n '__fish_seen_subcommand_from help' -a ${fq(commands.map((c) => c.name).join(' '))}`,
  );
  for (const c of commands) {
    for (const o of visible(c)) {
      const parts = [`complete -c airflash -n '__fish_seen_subcommand_from ${c.name}'`, `-l ${o.long}`];
      if (o.short) parts.push(`-s ${o.short}`);
      if (o.kind !== 'flag') {
        if (o.choices !== undefined) parts.push('-x', `-a ${fq(o.choices.join(' '))}`);
        else if (o.complete === 'file' || o.complete === 'dir') parts.push('-r', '-F');
        else parts.push('-x');
      }
      parts.push(`-d ${fq(o.help)}`);
      lines.push(parts.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`, listing every command and every visible option. */
export function completionScript(shell: Shell, commands: readonly CompletionCommand[]): string {
  return shell === 'bash' ? bash(commands) : shell === 'zsh' ? zsh(commands) : fish(commands);
}
