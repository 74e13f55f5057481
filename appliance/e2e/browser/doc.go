// Package browser tests the dashboard in a real browser: the real daemon (built by TestMain, inside
// the test's own network namespace) with the test guest, driven through Debian's headless chromium
// with chromedp. Its tests are in _test.go files; screenshots go to artifacts/ui at the repository's
// root, and each failing test saves one in artifacts/ui/failures with the page's console.
package browser
