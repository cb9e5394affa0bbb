package notify

import (
	"fmt"
	"time"
)

// Minutes says a duration the way a person would, rounded up to whole minutes: "1
// minute", "10 minutes", "1 hour", "2 hours".
func Minutes(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	switch {
	case m <= 1:
		return "1 minute"
	case m%60 == 0 && m >= 120:
		return fmt.Sprintf("%d hours", m/60)
	case m == 60:
		return "1 hour"
	}
	return fmt.Sprintf("%d minutes", m)
}
