# bash completion for itensor: commands, each command's options (read from its own --help),
# option values that are a closed list, files, and the tensor ids of the store being named
# (from `itensor ls --json`). Plain bash: it needs neither bash-completion's helpers nor python.

# The options of command $1, as its --help lists them (cached per shell).
_itensor_options() {
    case $1 in ls | info | export | preview | verify | rm | compact | upgrade | demo) ;; *) return ;; esac
    local var="_itensor_opts_$1"
    if [[ -z ${!var-} ]]; then
        printf -v "$var" '%s' "$(itensor "$1" --help 2>/dev/null |
            grep -oE -- '(^|[ [])--?[a-z][a-z-]*' | tr -d ' [' | sort -u | tr '\n' ' ')"
    fi
    printf '%s' "${!var}"
}

# The tensor ids of store $1.
_itensor_ids() {
    itensor ls --json "$1" 2>/dev/null | grep -oE '"id": "([^"\\]|\\.)*"' | sed 's/^"id": "//; s/"$//'
}

_itensor() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "ls info export preview verify rm compact upgrade demo --help --version" -- "$cur"))
        return
    fi
    local cmd=${COMP_WORDS[1]}
    case $prev in
        -o | --output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --compression) COMPREPLY=($(compgen -W "deflate lz4 zstd none" -- "$cur")); return ;;
        --colormap) COMPREPLY=($(compgen -W "gray viridis terrain" -- "$cur")); return ;;
        --region | -r | --dataset | --level | --range | --units | --long-name | --dim-names | \
            --coord-units | --fill-value | --limit-seconds | --limit-memory) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_itensor_options "$cmd")" -- "$cur"))
        return
    fi
    # the positional arguments before this one (options and their values left out)
    local i pos=() w
    for ((i = 2; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -o | -r | --output | --region | --dataset | --compression | --level | --colormap | \
                --range | --units | --long-name | --dim-names | --coord-units | --fill-value | \
                --limit-seconds | --limit-memory) ((i++)) ;;
            -*) ;;
            *) pos+=("$w") ;;
        esac
    done
    case ${#pos[@]} in
        0)
            if [[ $cmd == demo ]]; then
                COMPREPLY=($(compgen -d -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            ;;
        1)
            case $cmd in
                info | export | preview | rm)
                    local IFS=$'\n'
                    COMPREPLY=($(compgen -W "$(_itensor_ids "${pos[0]}")" -- "$cur"))
                    ;;
            esac
            ;;
    esac
}
complete -o filenames -F _itensor itensor
