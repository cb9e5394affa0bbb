package tenant

import (
	"encoding/json"
	"testing"
)

func TestParseStoredMemoIsNotShared(t *testing.T) {
	p := DefaultPolicy()
	doc, _ := json.Marshal(p)
	a, err := parseStored("memo-test", doc)
	if err != nil {
		t.Fatal(err)
	}
	a.Device.ScopeCeiling[0] = "changed"
	a.Retirement["sms"] = Retirement{Phase: "purged"}
	b, err := parseStored("memo-test", doc)
	if err != nil {
		t.Fatal(err)
	}
	if b.Device.ScopeCeiling[0] == "changed" || b.Retirement["sms"].Phase == "purged" {
		t.Fatal("a caller's change reached the memo")
	}
	p.Flows.DeviceCode = true
	doc2, _ := json.Marshal(p)
	c, err := parseStored("memo-test", doc2)
	if err != nil || !c.Flows.DeviceCode {
		t.Fatalf("a new document was served from the memo: %v %v", c.Flows.DeviceCode, err)
	}
}
