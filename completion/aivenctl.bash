# bash completion for aivenctl(8)                          -*- shell-script -*-
#
# Installed as $(PREFIX)/share/bash-completion/completions/aivenctl.
# Completes commands, subcommands and options; -c/--config and
# `status --prometheus` complete file names; USER_ID arguments complete
# from the cache (`aivenctl user list --cached`) when it is readable: the
# ids, shown with their user's name while more than one is left, and the
# id alone once the word is unique (a name is no USER_ID).  Token
# prefixes (inspect, token revoke, token rotate) complete from the cache
# too, those of the user already given when there is one.

# "ID<TAB>NAME" lines of the cached users.
_aivenctl_users()
{
	local -a cfg=()
	[[ -n ${1:-} ]] && cfg=(-c "$1")
	# --json prints one key per line, sorted: "name" before "user_id".
	aivenctl "${cfg[@]}" --json user list --cached 2>/dev/null |
	    sed -n -e 's/^ *"name": "\([^"]*\)".*/N\1/p' \
	        -e 's/^ *"name": null.*/N/p' \
	        -e 's/^ *"user_id": "\([^"]*\)".*/I\1/p' |
	    while IFS= read -r l; do
		case $l in
		N*) name=${l#N} ;;
		I*) printf '%s\t%s\n' "${l#I}" "${name:-}"; name="" ;;
		esac
	    done
}

_aivenctl_user_ids()
{
	_aivenctl_users "$@" | cut -f1
}

# Completions for a USER_ID word: the matching ids; while several match,
# each as "ID (NAME)" so the list names them (bash shows them, and the
# common part of the ids is what is inserted).  A word that matches a
# name, not an id, completes to that user's id.
_aivenctl_complete_user()
{
	local cfg=$1 line id name
	local -a ids=() shown=()
	while IFS=$'\t' read -r id name; do
		[[ -z $id ]] && continue
		if [[ $id == "$cur"* ]]; then
			ids+=("$id")
			shown+=("$id (${name:-?})")
		elif [[ -n $cur && $name == "$cur"* ]]; then
			ids+=("$id")
			shown+=("$id (${name:-?})")
		fi
	done < <(_aivenctl_users "$cfg")
	if ((${#ids[@]} == 1)); then
		COMPREPLY=("${ids[0]}")
	elif ((${#ids[@]} > 1)); then
		COMPREPLY=("${shown[@]}")
	fi
}

# Token prefixes in the cache (of USER_ID $2 when given).
_aivenctl_prefixes()
{
	local -a cfg=()
	[[ -n ${1:-} ]] && cfg=(-c "$1")
	aivenctl "${cfg[@]}" --json token list ${2:+"$2"} 2>/dev/null |
	    sed -n 's/^ *"token_prefix": "\([^"]*\)".*/\1/p'
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
	local i cmd="" sub="" cfg="" nargs=0 arg1=""
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
				((nargs == 0)) && arg1=${words[i]}
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

	local opts="" want_user=0 want_prefix=0 prefix_user=""
	case $cmd in
	sync) opts="--prometheus" ;;
	status) opts="--prometheus" ;;
	inspect)
		# PREFIX, or USER_ID PREFIX
		((nargs == 0)) && want_prefix=1
		((nargs == 1)) && want_prefix=1 && prefix_user=$arg1
		;;
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
		rotate | revoke)
			[[ $sub == rotate ]] && opts="--grace"
			[[ $sub == revoke ]] && opts="--clear-overflow"
			((nargs == 0)) && want_user=1
			((nargs == 1)) && want_prefix=1 && prefix_user=$arg1
			;;
		add | list) ((nargs == 0)) && want_user=1 ;;
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
		_aivenctl_complete_user "$cfg"
	elif ((want_prefix)); then
		# Prefixes hold + / =: literal words, not file names.
		local p
		COMPREPLY=()
		while read -r p; do
			[[ -n $p && $p == "$cur"* ]] && COMPREPLY+=("$p")
		done < <(_aivenctl_prefixes "$cfg" "$prefix_user")
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
