// isuumo: the team's app on s1, cut down to what the incident needs. Like the contest's app it
// keeps a pool of connections to the database on s2 (database/sql with go-sql-driver/mysql,
// Debian's 1.5.0, the driver of 2020) and asks with arguments, so that the driver prepares
// each statement: the calls whose failures the post's s1 log shows.
//
// Built into the box when the box is built (provisioning/box/build.sh); run on s1 by the
// lab's app step as isuumo.go.service:
//
//	MYSQL_HOST=s2 MYSQL_USER=isucon MYSQL_PASS=isucon MYSQL_DBNAME=isucon ./isuumo
//	curl http://s1:1323/api/estate/low_priced   # {"count":1000}, or 500 and the error in the log
package main

import (
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

func env(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func main() {
	dsn := fmt.Sprintf("%s:%s@tcp(%s:%s)/%s?timeout=5s&readTimeout=10s",
		env("MYSQL_USER", "isucon"), env("MYSQL_PASS", "isucon"), env("MYSQL_HOST", "s2"),
		env("MYSQL_PORT", "3306"), env("MYSQL_DBNAME", "isucon"))
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		log.Fatalf("DB connection failed: %v", err)
	}
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	// Like the contest's app: connected before serving, so the pool holds an idle connection.
	for db.Ping() != nil {
		log.Print("waiting for the database")
		time.Sleep(2 * time.Second)
	}
	http.HandleFunc("/api/estate/low_priced", func(w http.ResponseWriter, r *http.Request) {
		var count int
		if err := db.QueryRow("SELECT COUNT(*) FROM items WHERE id >= ?", 0).Scan(&count); err != nil {
			log.Printf("low_priced: the query failed: %v", err)
			http.Error(w, "", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "{\"count\":%d}\n", count)
	})
	log.Print("⇨ http server started on [::]:1323")
	log.Fatal(http.ListenAndServe(":1323", nil))
}
