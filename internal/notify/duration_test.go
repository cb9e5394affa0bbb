package notify

import (
	"testing"
	"time"
)

func TestMinutesRoundUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 minute", time.Minute: "1 minute", 61 * time.Second: "2 minutes",
		10 * time.Minute: "10 minutes", time.Hour: "1 hour", 24 * time.Hour: "24 hours", 0: "1 minute",
	} {
		if got := Minutes(d); got != want {
			t.Errorf("Minutes(%s) = %q, want %q", d, got, want)
		}
	}
}
