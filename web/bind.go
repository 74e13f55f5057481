package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
)

// decodeJSON reads exactly one JSON object from the request body into v. Unknown fields, trailing
// data, wrong types and an empty body are 400s with a message naming the problem; a body over the cap is 413.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			return fault.New(fault.Invalid, "invalid JSON body: more than one value")
		}
		return jsonError(err)
	}
	return nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return fault.New(fault.TooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return fault.New(fault.Invalid, "request body is empty: a JSON object is required")
	case errors.As(err, &syn):
		return fault.New(fault.Invalid, "invalid JSON body at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return fault.New(fault.Invalid, "invalid JSON body: field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	}
	return fault.New(fault.Invalid, "invalid JSON body: %v", fmt.Sprint(err))
}
