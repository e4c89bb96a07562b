package serve

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A minimal RFC 6455 WebSocket: the handshake, masked client frames,
// fragmentation, ping/pong and close, with a message size limit. Enough for
// OpenEnv's session protocol (text JSON messages); no extensions.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// WebSocket opcodes.
const (
	OpText   = 0x1
	OpBinary = 0x2
	opCont   = 0x0
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// Close codes.
const (
	CloseNormal    = 1000
	CloseProtocol  = 1002
	CloseTooBig    = 1009
	CloseGoingAway = 1001
)

// ErrMessageTooBig is a message over the connection's limit.
var ErrMessageTooBig = errors.New("websocket: message too big")

// WSConn is one WebSocket connection, server or client side. Reads are for
// one goroutine; writes may come from several.
type WSConn struct {
	c      net.Conn
	br     *bufio.Reader
	client bool
	max    int64
	wmu    sync.Mutex
	closed bool
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// IsWebSocket reports whether r asks to upgrade to a WebSocket.
func IsWebSocket(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

// Accept completes the server side of the handshake.
func Accept(w http.ResponseWriter, r *http.Request, maxMessage int64) (*WSConn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !IsWebSocket(r) || r.Header.Get("Sec-WebSocket-Version") != "13" || key == "" {
		http.Error(w, "expected a WebSocket upgrade (version 13)", http.StatusBadRequest)
		return nil, errors.New("websocket: bad handshake")
	}
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		http.Error(w, "bad Sec-WebSocket-Key", http.StatusBadRequest)
		return nil, errors.New("websocket: bad key")
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot upgrade", http.StatusInternalServerError)
		return nil, errors.New("websocket: response cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"
	if _, err := rw.WriteString(resp); err != nil {
		conn.Close()
		return nil, err
	}
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &WSConn{c: conn, br: rw.Reader, max: maxMessage}, nil
}

// DialWebSocket opens a client connection to a ws:// URL (http:// is taken
// as ws://), sending header with the handshake.
func DialWebSocket(ctx context.Context, rawURL string, header http.Header, maxMessage int64) (*WSConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" && u.Scheme != "http" {
		return nil, fmt.Errorf("websocket: scheme %q not supported", u.Scheme)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	var kb [16]byte
	_, _ = rand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", u.RequestURI(), u.Host, key)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		conn.Close()
		return nil, fmt.Errorf("websocket: handshake refused: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	_ = conn.SetDeadline(time.Time{})
	return &WSConn{c: conn, br: br, client: true, max: maxMessage}, nil
}

// NetConn is the underlying connection.
func (c *WSConn) NetConn() net.Conn { return c.c }

// ReadMessage returns the next text or binary message, answering pings and
// a close on the way. A peer's close is io.EOF; a message over the limit is
// ErrMessageTooBig (the connection is closed with 1009).
func (c *WSConn) ReadMessage() (op int, data []byte, err error) {
	var msgOp int
	var buf []byte
	for {
		fin, op, payload, err := c.readFrame(c.max - int64(len(buf)))
		if err != nil {
			if errors.Is(err, ErrMessageTooBig) {
				c.CloseWith(CloseTooBig, "message too big")
			} else if errors.Is(err, errProtocol) {
				c.CloseWith(CloseProtocol, err.Error())
			}
			return 0, nil, err
		}
		switch op {
		case opPing:
			if err := c.write(opPong, payload); err != nil {
				return 0, nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			code := CloseNormal
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
			}
			c.CloseWith(code, "")
			return 0, nil, io.EOF
		case OpText, OpBinary:
			if msgOp != 0 {
				c.CloseWith(CloseProtocol, "new message inside a fragmented one")
				return 0, nil, errProtocol
			}
			msgOp = op
		case opCont:
			if msgOp == 0 {
				c.CloseWith(CloseProtocol, "continuation without a message")
				return 0, nil, errProtocol
			}
		default:
			c.CloseWith(CloseProtocol, "unknown opcode")
			return 0, nil, errProtocol
		}
		buf = append(buf, payload...)
		if fin {
			return msgOp, buf, nil
		}
	}
}

var errProtocol = errors.New("websocket: protocol error")

func (c *WSConn) readFrame(limit int64) (fin bool, op int, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return false, 0, nil, err
	}
	fin = h[0]&0x80 != 0
	if h[0]&0x70 != 0 {
		return false, 0, nil, fmt.Errorf("%w: reserved bits set", errProtocol)
	}
	op = int(h[0] & 0x0F)
	masked := h[1]&0x80 != 0
	if masked == c.client {
		// Clients mask every frame, servers none (RFC 6455 5.1).
		return false, 0, nil, fmt.Errorf("%w: wrong masking", errProtocol)
	}
	n := int64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return false, 0, nil, err
		}
		u := binary.BigEndian.Uint64(b[:])
		if u > 1<<62 {
			return false, 0, nil, ErrMessageTooBig
		}
		n = int64(u)
	}
	if op >= opClose && (n > 125 || !fin) {
		return false, 0, nil, fmt.Errorf("%w: bad control frame", errProtocol)
	}
	if op < opClose && c.max > 0 && n > limit {
		return false, 0, nil, ErrMessageTooBig
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(c.br, mask[:]); err != nil {
			return false, 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return false, 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
	}
	return fin, op, payload, nil
}

// WriteMessage sends one unfragmented message.
func (c *WSConn) WriteMessage(op int, data []byte) error { return c.write(op, data) }

func (c *WSConn) write(op int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x80|byte(op))
	mbit := byte(0)
	if c.client {
		mbit = 0x80
	}
	n := len(data)
	switch {
	case n < 126:
		hdr = append(hdr, mbit|byte(n))
	case n < 1<<16:
		hdr = append(hdr, mbit|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, mbit|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	frame := data
	if c.client {
		var mask [4]byte
		_, _ = rand.Read(mask[:])
		hdr = append(hdr, mask[:]...)
		frame = make([]byte, n)
		for i := range data {
			frame[i] = data[i] ^ mask[i&3]
		}
	}
	if _, err := c.c.Write(append(hdr, frame...)); err != nil {
		return err
	}
	return nil
}

// CloseWith sends a close frame with code and reason (best effort) and
// closes the connection.
func (c *WSConn) CloseWith(code int, reason string) error {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	_ = c.c.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.write(opClose, append(p, reason...))
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	return c.c.Close()
}

// Close closes the connection normally.
func (c *WSConn) Close() error { return c.CloseWith(CloseNormal, "") }
