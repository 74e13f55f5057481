package identity

import (
	"bufio"
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// The password policy follows NIST SP 800-63B (5.1.1.2): a minimum length, no composition rules,
// and a refusal of passwords that are known, predictable or drawn from the context: ones on a list
// of the most used passwords, repetitive or sequential strings, and the user's own name or the
// service's name with a few characters around it. Every refusal says which rule it broke, never
// the password.
//
// The list is common-passwords.txt, embedded: the passwords of at least MinPasswordLen characters
// among zxcvbn's 30,000 most used ones (its header says where they come from). To regenerate it:
//
//	npm pack zxcvbn@4.4.2 && tar xzf zxcvbn-4.4.2.tgz
//	node -e 'for (const p of new Set(require("./package/lib/frequency_lists.js").passwords))
//	  if ([...p].length >= 8) console.log(p)'

//go:embed common-passwords.txt
var commonPasswordsFile string

// commonPasswords is the list as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 12000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			set[line] = true
		}
	}
	return set
})

// serviceName is the word no password may be built on, besides the user's name.
const serviceName = "cloudlet"

// minDistinctRunes: fewer different characters than this is a repetition such as aaaaaaaa or
// abababab, however long.
const minDistinctRunes = 4

// checkPassword enforces the password policy for the user named username ("" when unknown); the
// message never repeats the password.
func checkPassword(password, username string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return faultf(ErrInvalid, "password too short: at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return faultf(ErrInvalid, "password too long: at most %d bytes", MaxPasswordLen)
	}
	lower := strings.ToLower(password)
	switch {
	case commonPasswords()[lower]:
		return faultf(ErrInvalid, "password refused: it is one of the most used passwords, the first an attacker tries; choose a longer phrase of your own")
	case repetitive(lower):
		return faultf(ErrInvalid, "password refused: it repeats a few characters (like aaaaaaaa or abcabcabc); choose a longer phrase of your own")
	case sequential(lower):
		return faultf(ErrInvalid, "password refused: it is a sequence (like 12345678 or abcdefgh); choose a longer phrase of your own")
	case builtOn(lower, strings.ToLower(username)):
		return faultf(ErrInvalid, "password refused: it is the user name with a few characters added; choose a phrase that does not contain it")
	case builtOn(lower, serviceName):
		return faultf(ErrInvalid, "password refused: it is the word %s with a few characters added; choose a phrase that does not contain it", serviceName)
	}
	return nil
}

// repetitive reports whether s has few distinct characters, or is a short unit repeated
// (abcabcab).
func repetitive(s string) bool {
	r := []rune(s)
	distinct := map[rune]bool{}
	for _, c := range r {
		distinct[c] = true
	}
	if len(distinct) < minDistinctRunes {
		return true
	}
	for period := 1; period <= len(r)/2; period++ {
		if hasPeriod(r, period) {
			return true
		}
	}
	return false
}

func hasPeriod(r []rune, period int) bool {
	for i := period; i < len(r); i++ {
		if r[i] != r[i-period] {
			return false
		}
	}
	return true
}

// sequential reports whether every character of s is the one after (or before) the previous one:
// 12345678, abcdefgh, 98765432.
func sequential(s string) bool {
	r := []rune(s)
	step := r[1] - r[0]
	if step != 1 && step != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if r[i]-r[i-1] != step {
			return false
		}
	}
	return true
}

// builtOn reports whether password (lower case) contains word (lower case, at least 3 characters)
// and what is left without it is shorter than a password may be: ada2024!, cloudlet1.
func builtOn(password, word string) bool {
	if utf8.RuneCountInString(word) < 3 || !strings.Contains(password, word) {
		return false
	}
	rest := strings.ReplaceAll(password, word, "")
	return utf8.RuneCountInString(rest) < MinPasswordLen
}

// newPassword returns a random password (the first admin's, a reset one) that the policy accepts
// for username; nearly every draw is accepted at once.
func newPassword(username string) (string, error) {
	for {
		pw, err := randomPassword(adminPasswordLen)
		if err != nil || checkPassword(pw, username) == nil {
			return pw, err
		}
	}
}
