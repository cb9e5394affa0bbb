package passkeytest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"
)

// cborMap is a CBOR map whose keys are int or string.
// Its entries are written in CTAP2 canonical order, so the output does not depend on Go's map iteration.
type cborMap map[any]any

// CBOR major types used by the encoder (RFC 8949 §3.1).
const (
	cborUnsigned byte = 0
	cborNegative byte = 1
	cborBytes    byte = 2
	cborText     byte = 3
	cborMapType  byte = 5
)

// cborEncode encodes v, which must be an int, int64, string, []byte or cborMap.
// It supports exactly what attestation objects and COSE keys need, and nothing more.
func cborEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := cborWrite(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func cborWrite(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case int:
		cborWriteInt(buf, int64(v))
	case int64:
		cborWriteInt(buf, v)
	case []byte:
		cborWriteHead(buf, cborBytes, uint64(len(v)))
		buf.Write(v)
	case string:
		// CBOR text strings must be valid UTF-8, and WebAuthn decoders reject anything else.
		if !utf8.ValidString(v) {
			return fmt.Errorf("cbor: text string is not valid UTF-8")
		}
		cborWriteHead(buf, cborText, uint64(len(v)))
		buf.WriteString(v)
	case cborMap:
		return cborWriteMap(buf, v)
	default:
		return fmt.Errorf("cbor: unsupported type %T", v)
	}
	return nil
}

func cborWriteInt(buf *bytes.Buffer, v int64) {
	if v >= 0 {
		cborWriteHead(buf, cborUnsigned, uint64(v))
		return
	}
	// A negative integer n is encoded as -1-n, which cannot overflow for any int64.
	cborWriteHead(buf, cborNegative, uint64(-(v + 1)))
}

// cborWriteHead writes the initial byte and argument in their shortest form, as canonical CBOR requires.
func cborWriteHead(buf *bytes.Buffer, major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		buf.WriteByte(m | byte(n))
	case n <= 0xff:
		buf.WriteByte(m | 24)
		buf.WriteByte(byte(n))
	case n <= 0xffff:
		buf.WriteByte(m | 25)
		buf.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
	case n <= 0xffffffff:
		buf.WriteByte(m | 26)
		buf.Write(binary.BigEndian.AppendUint32(nil, uint32(n)))
	default:
		buf.WriteByte(m | 27)
		buf.Write(binary.BigEndian.AppendUint64(nil, n))
	}
}

// cborWriteMap sorts entries by encoded key, shorter keys first and then bytewise,
// which is the CTAP2 canonical form authenticators emit.
func cborWriteMap(buf *bytes.Buffer, m cborMap) error {
	type entry struct {
		key   []byte
		value any
	}
	entries := make([]entry, 0, len(m))
	for k, v := range m {
		switch k.(type) {
		case int, int64, string:
		default:
			return fmt.Errorf("cbor: unsupported map key type %T", k)
		}
		key, err := cborEncode(k)
		if err != nil {
			return err
		}
		entries = append(entries, entry{key: key, value: v})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if len(a.key) != len(b.key) {
			return len(a.key) - len(b.key)
		}
		return bytes.Compare(a.key, b.key)
	})
	for i := 1; i < len(entries); i++ {
		// An int and an int64 with the same value would collide on the wire.
		if bytes.Equal(entries[i-1].key, entries[i].key) {
			return fmt.Errorf("cbor: duplicate map key %x", entries[i].key)
		}
	}

	cborWriteHead(buf, cborMapType, uint64(len(entries)))
	for _, e := range entries {
		buf.Write(e.key)
		if err := cborWrite(buf, e.value); err != nil {
			return err
		}
	}
	return nil
}
