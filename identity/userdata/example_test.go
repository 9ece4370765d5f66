package userdata_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/userdata"
)

func ExampleNewDeleter() {
	apiKey := os.Getenv("WEBCHATID_IBM_APIKEY") // from the environment, never a flag
	if apiKey == "" {
		apiKey = "not-a-key" // so that the example runs without one; never put a real key in code
	}
	deleter, err := userdata.NewDeleter(userdata.Config{
		APIKey:      apiKey,
		InstanceURL: "https://api.us-south.assistant.watson.cloud.ibm.com/instances/YOUR-INSTANCE-ID",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	eraser, err := ledger.NewEraser(ledger.EraserConfig{Ledger: memstore.New(), Deleter: deleter})
	if err != nil {
		log.Fatal(err)
	}
	// With an empty ledger there is nothing to delete at IBM.
	rep, err := eraser.Erase(context.Background(), "customer-42")
	fmt.Println(len(rep.Deleted), err)
	// Output: 0 <nil>
}
