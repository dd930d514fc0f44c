#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Every source file states its license (SPDX line in its first lines), with
# one of the project's licenses (README, "License").

@test "license: LICENSE files present, an SPDX line in every source file" {
	cd "$BATS_TEST_DIRNAME/../.."
	[ -f LICENSE ] && grep -q 'GNU GENERAL PUBLIC LICENSE' LICENSE
	[ -f LICENSES/BSD-2-Clause.txt ]
	missing=() bad=()
	while IFS= read -r f; do
		case "$f" in
		test/fuzz/corpus/* | *.png | *.json | *.json.in | *.md | .gitignore | LICENSE | LICENSES/*) continue ;;
		# formats without comments; debian/copyright (DEP-5) is itself
		# the machine-readable license statement of every file
		debian/changelog | debian/source/format | debian/copyright) continue ;;
		esac
		[ -f "$f" ] || continue
		id=$(head -3 "$f" | sed -n 's/.*SPDX-License-Identifier: \(.*[^ */]\).*/\1/p' | head -1)
		if [ -z "$id" ]; then
			missing+=("$f")
		else
			case "$id" in
			GPL-2.0-or-later | GPL-2.0-only | "GPL-2.0-only OR BSD-2-Clause") ;;
			*) bad+=("$f: $id") ;;
			esac
		fi
	done < <(git ls-files -co --exclude-standard)
	[ ${#missing[@]} -eq 0 ] || { printf 'no SPDX line: %s\n' "${missing[@]}"; false; }
	[ ${#bad[@]} -eq 0 ] || { printf 'unknown license: %s\n' "${bad[@]}"; false; }
}
