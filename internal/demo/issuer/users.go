package issuer

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// DemoUsers returns the demo's two accounts: ada (customer c1, password
// "ada-demo-password") and grace (customer c2, password
// "grace-demo-password"). The passwords are published in the demo's
// examples; they guard only demo data. The bcrypt hashes are computed on
// each call, at bcrypt.DefaultCost.
func DemoUsers() ([]User, error) {
	accounts := []struct{ username, customerID, name, password string }{
		{"ada", "c1", "Ada Lovelace", "ada-demo-password"},
		{"grace", "c2", "Grace Hopper", "grace-demo-password"},
	}
	users := make([]User, 0, len(accounts))
	for _, a := range accounts {
		hash, err := bcrypt.GenerateFromPassword([]byte(a.password), bcrypt.DefaultCost)
		if err != nil {
			return nil, fmt.Errorf("issuer: hashing the password of %s: %w", a.username, err)
		}
		users = append(users, User{Username: a.username, CustomerID: a.customerID, Name: a.name, PasswordHash: hash})
	}
	return users, nil
}
