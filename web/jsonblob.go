package web

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/labstack/echo/v4"
)

// jsonBlob writes raw, a JSON value already encoded as json.Marshal does, exactly as c.JSON writes the
// value it decodes to: with a trailing newline, and indented by two spaces under ?pretty (or echo's
// Debug). The newline is a write of its own, so a large raw is never copied to make room for it.
func jsonBlob(c echo.Context, code int, raw []byte) error {
	if _, pretty := c.QueryParams()["pretty"]; pretty || c.Echo().Debug {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return fmt.Errorf("indent a JSON answer: %w", err)
		}
		raw = b.Bytes()
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	res.WriteHeader(code)
	if _, err := res.Write(raw); err != nil {
		return err
	}
	_, err := res.Write([]byte{'\n'})
	return err
}
