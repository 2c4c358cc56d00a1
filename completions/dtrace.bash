# bash completion for dtrace (dtrace-ts). Install: source it, or copy it to
# /usr/share/bash-completion/completions/dtrace. A unit test keeps the -x names in step with
# src/cli/options.ts.
_dtrace() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local xopts="aggpercpu aggrate aggsize aggsortkey aggsortkeypos aggsortpos aggsortrev amin argref bpflog bpflogsize bufpolicy bufresize bufsize cleanrate core cpp cppargs cpphdrs cpppath cpu ctfpath ctypes debug debugassert defaultargs define destructive disasm droptags dtypes dynvarsize empty errtags evaltime flamegraph flowindent grabanon incdir iregs jstackframes jstackstrsize kdefs knodefs late lazyload ldpath libdir linkmode linknommap linktype lockmem maxframes metrics metricsseries modpath nolibs noresolve nspec oformat pcapsize pgmax preallocate printsize procfspath pspec quiet quietresize rawbytes scratchsize specsize stackframes stackindent statusrate stdc strip strsize switchrate syslibdir sysslice tree tregs udefs undef unodefs useruid ustackframes verbose version zdefs"
  local providers="dtrace cpc fbt io proc profile rawfbt rawtp sched sdt syscall pid usdt"
  case "$prev" in
    -s|-o|-I|-L) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    -c) COMPREPLY=( $(compgen -c -- "$cur") ); return ;;
    -p) COMPREPLY=( $(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur") ); return ;;
    -x) COMPREPLY=( $(compgen -W "$xopts" -- "${cur%%=*}") ); return ;;
    -X) COMPREPLY=( $(compgen -W "a c s t" -- "$cur") ); return ;;
    -P) COMPREPLY=( $(compgen -W "$providers" -- "$cur") ); return ;;
    -n|-f|-m|-i|-b|-D|-U) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "-32 -64 -a -A -b -c -C -D -e -f -F -G -h -H -i -I -l -L -m -n -o -p -P -q -s -S -U -v -V -w -x -X -Z --help --version" -- "$cur") )
  fi
}
complete -F _dtrace dtrace dtrace-ts
