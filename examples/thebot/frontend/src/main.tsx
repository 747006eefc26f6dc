import React from "react";
import ReactDOM from "react-dom/client";

const API_URL = import.meta.env.VITE_API_URL ?? "http://localhost:8000/api";

function App() {
  const [status, setStatus] = React.useState<string>("…");

  React.useEffect(() => {
    fetch(`${API_URL}/health/`)
      .then((response) => response.json())
      .then((data) => setStatus(data.status))
      .catch(() => setStatus("offline"));
  }, []);

  return (
    <main>
      <h1>THE_BOT</h1>
      <p>API: {status}</p>
    </main>
  );
}

ReactDOM.createRoot(document.getElementById("root")!).render(
  <React.StrictMode>
    <App />
  </React.StrictMode>,
);
