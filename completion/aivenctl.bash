# bash completion for aivenctl(8)                          -*- shell-script -*-
#
# Installed as $(PREFIX)/share/bash-completion/completions/aivenctl.
# Completes commands, subcommands and options; -c/--config and
# `status --prometheus` complete file names; USER_ID arguments complete
# from the cache (`aivenctl user list --cached`) when it is readable.

_aivenctl_user_ids()
{
	local -a cfg=()
	[[ -n ${1:-} ]] && cfg=(-c "$1")
	aivenctl "${cfg[@]}" --json user list --cached 2>/dev/null |
	    sed -n 's/^ *"user_id": "\([^"]*\)".*/\1/p'
}

_aivenctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local global_opts="-c --config --json -v --verbose -h --help --version"
	local commands="sync status user token inspect verify audit doctor fleet follow version help"

	# Find the command and subcommand, and a -c FILE given before them.
	local i cmd="" sub="" cfg="" nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-c | --config)
			cfg=${words[i + 1]:-}
			((i++))
			;;
		--config=*) cfg=${words[i]#--config=} ;;
		--description | --max-age-seconds | --ip-allowlist | --scope | \
		    --grace | --rhost | --service | --user-match | \
		    --unused-days | --rotation-days | --root | --prometheus | --out)
			[[ ${words[i]} == --prometheus ]] || ((i++))
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}
			elif [[ -z $sub && ($cmd == user || $cmd == token || $cmd == fleet) ]]; then
				sub=${words[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done

	case $prev in
	-c | --config | --prometheus | --out | --account-map)
		_aivenctl_files
		return
		;;
	--user-match)
		COMPREPLY=($(compgen -W "name id email map any" -- "$cur"))
		return
		;;
	--root)
		_aivenctl_files -d
		return
		;;
	--description | --max-age-seconds | --ip-allowlist | --scope | \
	    --grace | --rhost | --service | --unused-days | --rotation-days)
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts="" want_user=0
	case $cmd in
	sync) opts="--prometheus" ;;
	status) opts="--prometheus" ;;
	inspect) ;;
	verify) opts="--rhost --service --scope --user-match --account-map" ;;
	audit) opts="--unused-days --rotation-days" ;;
	doctor) opts="--offline --root" ;;
	follow) opts="--once" ;;
	user)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "list create delete" -- "$cur"))
			return
		fi
		case $sub in
		list) opts="--cached" ;;
		delete) ((nargs == 0)) && want_user=1 ;;
		esac
		;;
	token)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "create add list revoke rotate" -- "$cur"))
			return
		fi
		case $sub in
		create)
			opts="--description --max-age-seconds --extend-when-used --ip-allowlist --scope"
			((nargs == 0)) && want_user=1
			;;
		rotate)
			opts="--grace"
			((nargs == 0)) && want_user=1
			;;
		add | list | revoke) ((nargs == 0)) && want_user=1 ;;
		esac
		;;
	fleet)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "keygen resign status" -- "$cur"))
			return
		fi
		[[ $sub == keygen ]] && opts="--out"
		;;
	*) return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts -c --config --json -v --verbose -h --help" -- "$cur"))
	elif ((want_user)); then
		COMPREPLY=($(compgen -W "$(_aivenctl_user_ids "$cfg")" -- "$cur"))
	fi
}

# File names, through bash-completion's _filedir when it is loaded.
_aivenctl_files()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir "$@"
	else
		compopt -o filenames 2>/dev/null
		if [[ ${1:-} == -d ]]; then
			COMPREPLY=($(compgen -d -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
	fi
}

complete -F _aivenctl aivenctl
