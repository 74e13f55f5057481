package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// Websocket opens a websocket on path (a GET upgrade such as /api/v1/instances/web/console) over the
// client's transport and with its credentials. An error answer before the upgrade is an *Error; the
// answer's headers (the upgrade's included) come back in resp.
func (c *Client) Websocket(ctx context.Context, path string) (ws *websocket.Conn, resp *http.Response, err error) {
	hc := *c.http
	hc.Timeout = 0 // the connection lives on; ctx bounds the handshake
	h := http.Header{}
	req, _ := http.NewRequest(http.MethodGet, c.base, nil)
	c.Authorize(req)
	for k, v := range req.Header {
		h[k] = v
	}
	ws, resp, err = websocket.Dial(ctx, c.base+path, &websocket.DialOptions{HTTPClient: &hc, HTTPHeader: h})
	if err == nil {
		return ws, resp, nil
	}
	if resp != nil && resp.StatusCode >= 400 {
		return nil, resp, decodeError(resp)
	}
	return nil, resp, fmt.Errorf("websocket %s at %s: %w", path, c.where, unwrapURLError(err))
}
