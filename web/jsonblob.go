package web

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/labstack/echo/v4"
)

// jsonBlob writes raw, a JSON value already encoded as json.Marshal does, exactly as c.JSON writes the
// value it decodes to: a trailing newline, and indented by two spaces under ?pretty (or echo's Debug).
func jsonBlob(c echo.Context, code int, raw []byte) error {
	raw = append(raw, '\n')
	if _, pretty := c.QueryParams()["pretty"]; pretty || c.Echo().Debug {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return fmt.Errorf("indent a JSON answer: %w", err)
		}
		raw = b.Bytes()
	}
	return c.JSONBlob(code, raw)
}
