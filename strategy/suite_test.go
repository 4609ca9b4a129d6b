package strategy_test

import (
	"testing"

	"github.com/graftml/graft/strategy/strategytest"
)

// TestRegistry runs every registered strategy through the shared suite:
// planning, a short training and refit, advise and doctor.
func TestRegistry(t *testing.T) { strategytest.Run(t) }
