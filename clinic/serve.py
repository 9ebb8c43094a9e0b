"""Serve the app on http://127.0.0.1:5000 for one machine (`make run`)."""

from wsgi import app

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000, debug=False, threaded=True)
