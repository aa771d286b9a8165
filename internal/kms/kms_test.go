package kms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestKeyURIs(t *testing.T) {
	for uri, ok := range map[string]bool{
		"aws-kms://alias/pgseal": true, "aws-kms://arn:aws:kms:eu-west-1:1:key/x": true,
		"aws-kms://": false, "vault://transit/keys/x": false, "alias/pgseal": false, "": false,
	} {
		_, err := Open(context.Background(), uri, Options{})
		if got := err == nil || !strings.Contains(err.Error(), "not a key URI"); got != ok {
			t.Errorf("Open(%q) = %v, want a key URI: %v", uri, err, ok)
		}
	}
	if got := arnRegion("arn:aws:kms:eu-west-1:111122223333:key/abc"); got != "eu-west-1" {
		t.Errorf("arnRegion = %q", got)
	}
	if got := arnRegion("alias/pgseal"); got != "" {
		t.Errorf("arnRegion(alias) = %q", got)
	}
}

func TestWrappedForm(t *testing.T) {
	uri, w, err := ParseWrapped(MarshalWrapped("aws-kms://alias/a", []byte{1, 2, 3}))
	if err != nil || uri != "aws-kms://alias/a" || string(w) != "\x01\x02\x03" {
		t.Fatalf("ParseWrapped(MarshalWrapped()) = %q, %x, %v", uri, w, err)
	}
	for name, body := range map[string]string{
		"not JSON": "{", "another version": `{"version":2,"key":"aws-kms://a","wrapped":"AQ=="}`,
		"an unknown service": `{"version":1,"key":"vault://a","wrapped":"AQ=="}`,
		"no ciphertext":      `{"version":1,"key":"aws-kms://a"}`,
	} {
		if _, _, err := ParseWrapped([]byte(body)); err == nil || !strings.Contains(err.Error(), "not a version 1") {
			t.Errorf("%s: ParseWrapped() = %v", name, err)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	a := &awsKMS{key: "alias/k"}
	for code, want := range map[string]error{
		"DisabledException": ErrRefused, "KMSInvalidStateException": ErrRefused, "NotFoundException": ErrRefused,
		"AccessDeniedException": ErrRefused, "IncorrectKeyException": ErrRefused, "InvalidCiphertextException": ErrRefused,
		"SomeNewException": ErrRefused, "ThrottlingException": ErrUnreachable, "KMSInternalException": ErrUnreachable,
	} {
		err := a.fail("Decrypt", fmt.Errorf("op: %w", &smithy.GenericAPIError{Code: code, Message: "m"}))
		if !errors.Is(err, want) || !strings.Contains(err.Error(), code) {
			t.Errorf("%s: fail() = %v, want %v", code, err, want)
		}
	}
	if err := a.fail("Decrypt", context.DeadlineExceeded); !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrRefused) {
		t.Errorf("a timeout: fail() = %v, want ErrUnreachable", err)
	}
}
