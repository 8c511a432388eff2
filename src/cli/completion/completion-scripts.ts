// The scripts `switchboard completion SHELL` prints. Each asks `switchboard complete -- WORDS...` at
// every TAB (completion-engine.ts answers). bash's is our own: @bomb.sh/tab's declares readonly
// variables, so sourcing it a second time (a re-read ~/.bashrc) prints errors, needs the
// bash-completion package, and never completes file names. zsh, fish and powershell are tab's.
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * Words are the line up to the cursor split at blanks (bash's COMP_WORDS would split
 * `--output=json` at the `=`). Past `=` or `:` bash replaces only what follows, so candidates
 * drop what comes before it. Directives: 1 error, 2 no space, 4 no file names, 16 directories.
 */
function bashScript(name: string): string {
  const fn = `__${name.replaceAll('-', '_')}_complete`;
  return `# bash completion for ${name}: source <(${name} completion bash), e.g. in ~/.bashrc.
# Sourcing it again only redefines the same function.
${fn}() {
    local line=\${COMP_LINE:0:COMP_POINT}
    local -a words
    read -r -a words <<< "$line"
    if [[ -z $line || $line =~ [[:space:]]$ ]]; then words+=(""); fi
    local cur=\${words[\${#words[@]}-1]}
    local out directive candidate
    out=$(${name} complete -- "\${words[@]:1}" 2>/dev/null) || return 0
    directive=\${out##*:}
    out=\${out%:*}
    [[ $directive =~ ^[0-9]+$ ]] || directive=0
    (( directive & 1 )) && return 0
    (( directive & 2 )) && compopt -o nospace 2>/dev/null
    cur=\${cur##*=}
    COMPREPLY=()
    if (( directive & 16 )); then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
    fi
    while IFS= read -r candidate; do
        [[ -n $candidate ]] && COMPREPLY+=("\${candidate%%$'\\t'*}")
    done <<< "$out"
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local before_colon=\${cur%"\${cur##*:}"}
        COMPREPLY=("\${COMPREPLY[@]#"$before_colon"}")
    fi
    if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
}
complete -F ${fn} ${name}
`;
}

/** tab prints its scripts with console.log; they are taken as text here, so the command prints them like any output. */
async function tabScript(shell: Exclude<Shell, 'bash'>, name: string): Promise<string> {
  const { script } = await import('@bomb.sh/tab');
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(' '));
  try {
    script(shell, name, name);
  } finally {
    console.log = log;
  }
  return `${lines.join('\n')}\n`;
}

export async function completionScript(shell: string, name: string): Promise<string> {
  if (shell === 'bash') return bashScript(name);
  if ((SHELLS as readonly string[]).includes(shell)) return tabScript(shell as Exclude<Shell, 'bash'>, name);
  throw new CliError(CLI_ERROR.usage, `no completion script for "${shell}"; use one of: ${SHELLS.join(', ')}, e.g. source <(${name} completion bash)`);
}
