package subscriptions_test

import (
	"testing"

	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/subscriptions/brokertest"
)

func TestMemoryBrokerConformance(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) subscriptions.Broker {
		return subscriptions.NewMemoryBroker(subscriptions.Retention{Events: brokertest.Retained})
	})
}
