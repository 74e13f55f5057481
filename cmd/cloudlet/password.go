package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// readPassword reads one password. From a terminal it prompts on prompt with echo off (unless
// fromStdin, which scripts use to pipe it in); otherwise it reads the first line of in. The
// password is never echoed, logged or stored.
func readPassword(in io.Reader, prompt io.Writer, label string, fromStdin bool) (string, error) {
	f, isFile := in.(*os.File)
	if !fromStdin && isFile && isTerminal(f) {
		return readTerminalPassword(f, prompt, label)
	}
	return readPasswordLine(in)
}

// readPasswordLine reads one line, without its line ending.
func readPasswordLine(in io.Reader) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("read password from stdin: empty")
	}
	return pw, nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readTerminalPassword turns echo off for one line, as golang.org/x/term does (that module is
// not a dependency; golang.org/x/sys is).
func readTerminalPassword(f *os.File, prompt io.Writer, label string) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	noEcho.Iflag |= unix.ICRNL
	fmt.Fprintf(prompt, "%s: ", label)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", fmt.Errorf("read password: turn off echo: %w", err)
	}
	defer func() {
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
		fmt.Fprintln(prompt)
	}()
	// Read byte by byte: a buffered reader could swallow input meant for later.
	var pw []byte
	buf := make([]byte, 1)
	for {
		n, err := f.Read(buf)
		if n == 1 && buf[0] == '\n' {
			break
		}
		if n == 1 {
			pw = append(pw, buf[0])
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(pw) > 0 {
				break
			}
			return "", fmt.Errorf("read password: %w", err)
		}
	}
	if len(pw) == 0 {
		return "", errors.New("read password: empty")
	}
	return strings.TrimRight(string(pw), "\r"), nil
}
