package issuer

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// maxBodyBytes bounds a token request body; a username and a password need
// far less, and reading more would let a client make the issuer buffer an
// arbitrary amount.
const maxBodyBytes = 16 << 10

// claims are the claims of an issued access token.
type claims struct {
	Name string `json:"name,omitempty"`
	jwt.RegisteredClaims
}

// tokenResponse is a successful token response (RFC 6749 section 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// oauthError is an error response (RFC 6749 section 5.2) with its status.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func badRequest(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// credentials are what a token request presents.
type credentials struct {
	username, password string
}

// serveToken is the token endpoint. It offers the OAuth 2.0 resource owner
// password credentials grant (RFC 6749 section 4.3), which hands the user's
// password to the client and which OAuth 2.1 therefore drops. It is
// acceptable here only because this issuer serves the local demo, on
// loopback, where the user, the client and the provider are one person on
// one machine; a real deployment uses its identity provider's own flows.
//
// Wrong passwords and unknown usernames get the same 401 invalid_grant after
// the same bcrypt work, so neither the answer nor its timing tells a caller
// which usernames exist. bcrypt's cost is also what slows down guessing.
func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	// Token responses carry credentials and must not be cached
	// (RFC 6749 section 5.1).
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	creds, oerr := readCredentials(w, r)
	if oerr != nil {
		writeJSON(w, oerr.status, oerr)
		return
	}
	user, ok := i.authenticate(creds)
	if !ok {
		i.opts.Logger.Info("demo issuer: token refused", "reason", "invalid_grant", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, &oauthError{Code: "invalid_grant"})
		return
	}
	token, err := i.sign(user)
	if err != nil {
		i.opts.Logger.Error("demo issuer: signing a token", "err", err)
		writeJSON(w, http.StatusInternalServerError, &oauthError{Code: "server_error"})
		return
	}
	i.opts.Logger.Info("demo issuer: token issued", "username", user.Username, "sub", user.CustomerID)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   int64(i.opts.TTL.Seconds()),
	})
}

// authenticate returns the user whose username and password creds holds.
// An unknown username is compared against a hash of a random password so
// that it costs the same bcrypt work as a known one.
func (i *Issuer) authenticate(creds credentials) (User, bool) {
	user, known := i.users[creds.username]
	hash := i.dummy
	if known {
		hash = user.PasswordHash
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(creds.password))
	return user, known && err == nil
}

// sign issues a token for user, valid from now for the TTL.
func (i *Issuer) sign(user User) (string, error) {
	now := i.opts.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims{
		Name: user.Name,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.opts.Issuer,
			Subject:   user.CustomerID,
			Audience:  jwt.ClaimStrings{i.opts.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(i.opts.TTL)),
			ID:        rand.Text(),
		},
	})
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}

// readCredentials reads a token request body: a form with
// grant_type=password, username and password, or a JSON object with
// username and password (and optionally grant_type "password").
func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, *oauthError) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != "application/x-www-form-urlencoded" && mediaType != "application/json") {
		return credentials{}, badRequest(http.StatusUnsupportedMediaType, "invalid_request",
			"Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			return credentials{}, badRequest(http.StatusRequestEntityTooLarge, "invalid_request",
				"the body exceeds %d bytes", maxBodyBytes)
		}
		return credentials{}, badRequest(http.StatusBadRequest, "invalid_request", "reading the body failed")
	}
	var creds credentials
	var oerr *oauthError
	if mediaType == "application/json" {
		creds, oerr = parseJSON(body)
	} else {
		creds, oerr = parseForm(body)
	}
	if oerr != nil {
		return credentials{}, oerr
	}
	if creds.username == "" || creds.password == "" {
		return credentials{}, badRequest(http.StatusBadRequest, "invalid_request", "username and password are required")
	}
	return creds, nil
}

// parseForm reads an application/x-www-form-urlencoded token request.
// Parameters must not repeat (RFC 6749 section 3.2), so that no two parts
// of the stack can disagree about which value counts.
func parseForm(body []byte) (credentials, *oauthError) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return credentials{}, badRequest(http.StatusBadRequest, "invalid_request", "malformed form body")
	}
	for name, values := range form {
		if len(values) > 1 {
			return credentials{}, badRequest(http.StatusBadRequest, "invalid_request", "parameter %q repeats", name)
		}
	}
	switch grant := form.Get("grant_type"); grant {
	case "password":
	case "":
		return credentials{}, badRequest(http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		return credentials{}, badRequest(http.StatusBadRequest, "unsupported_grant_type", "only grant_type=password is supported")
	}
	return credentials{username: form.Get("username"), password: form.Get("password")}, nil
}

// parseJSON reads a JSON token request.
func parseJSON(body []byte) (credentials, *oauthError) {
	var req struct {
		GrantType *string `json:"grant_type"`
		Username  string  `json:"username"`
		Password  string  `json:"password"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return credentials{}, badRequest(http.StatusBadRequest, "invalid_request", "the body is not a JSON object of strings")
	}
	if req.GrantType != nil && *req.GrantType != "password" {
		return credentials{}, badRequest(http.StatusBadRequest, "unsupported_grant_type", "only grant_type password is supported")
	}
	return credentials{username: req.Username, password: req.Password}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
